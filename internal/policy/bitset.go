package policy

import "math/bits"

// bitset is a set of pod indices.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int)      { b[i/64] |= 1 << (uint(i) % 64) }
func (b bitset) has(i int) bool { return b[i/64]&(1<<(uint(i)%64)) != 0 }

func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// each calls f with every index in the set, in increasing order.
func (b bitset) each(f func(i int)) {
	for wi, w := range b {
		for w != 0 {
			f(wi*64 + bits.TrailingZeros64(w))
			w &= w - 1
		}
	}
}

func (b bitset) clear(i int) { b[i/64] &^= 1 << (uint(i) % 64) }

// countRange counts the members in [start, end).
func (b bitset) countRange(start, end int) int {
	n := 0
	b.rangeWords(start, end, func(_ int, word uint64) bool {
		n += bits.OnesCount64(word)
		return true
	})
	return n
}

// firstInRange is the smallest member in [start, end), or -1.
func (b bitset) firstInRange(start, end int) int {
	first := -1
	b.rangeWords(start, end, func(at int, word uint64) bool {
		if word != 0 {
			first = at + bits.TrailingZeros64(word)
			return false
		}
		return true
	})
	return first
}

// rangeWords calls f with the bits of [start, end), a word at a time,
// shifted so that bit 0 is index at; f returns false to stop.
func (b bitset) rangeWords(start, end int, f func(at int, word uint64) bool) {
	for i := start; i < end; {
		off := uint(i) % 64
		word := b[i/64] >> off
		take := min(64-int(off), end-i)
		if take < 64 {
			word &= 1<<uint(take) - 1
		}
		if !f(i, word) {
			return
		}
		i += take
	}
}
