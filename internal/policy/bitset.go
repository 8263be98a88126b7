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
	for i := start; i < end; {
		w, off := i/64, uint(i)%64
		word := b[w] >> off
		take := min(64-int(off), end-i)
		if take < 64 {
			word &= 1<<uint(take) - 1
		}
		n += bits.OnesCount64(word)
		i += take
	}
	return n
}

// firstInRange is the smallest member in [start, end), or -1.
func (b bitset) firstInRange(start, end int) int {
	for i := start; i < end; {
		w, off := i/64, uint(i)%64
		word := b[w] >> off
		take := min(64-int(off), end-i)
		if take < 64 {
			word &= 1<<uint(take) - 1
		}
		if word != 0 {
			return i + bits.TrailingZeros64(word)
		}
		i += take
	}
	return -1
}
