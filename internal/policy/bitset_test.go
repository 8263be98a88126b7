package policy

import (
	"slices"
	"testing"
)

func TestBitsetEachVisitsEveryMemberInOrder(t *testing.T) {
	for _, members := range [][]int{nil, {0}, {63}, {64}, {0, 1, 63, 64, 65, 127, 128, 199}} {
		b := newBitset(200)
		for _, i := range members {
			b.set(i)
		}
		var got []int
		b.each(func(i int) { got = append(got, i) })
		if !slices.Equal(got, members) {
			t.Errorf("each visited %v, want %v", got, members)
		}
		if b.count() != len(members) {
			t.Errorf("count %d, want %d", b.count(), len(members))
		}
	}
}

// countRange and firstInRange agree with a member-by-member look over
// every range of a set spanning several words.
func TestBitsetRanges(t *testing.T) {
	b := newBitset(200)
	for _, i := range []int{0, 5, 63, 64, 70, 127, 128, 150, 199} {
		b.set(i)
	}
	for start := 0; start <= 200; start += 3 {
		for end := start; end <= 200; end += 7 {
			count, first := 0, -1
			for i := start; i < end; i++ {
				if b.has(i) {
					count++
					if first < 0 {
						first = i
					}
				}
			}
			if got := b.countRange(start, end); got != count {
				t.Fatalf("countRange(%d, %d) = %d, want %d", start, end, got, count)
			}
			if got := b.firstInRange(start, end); got != first {
				t.Fatalf("firstInRange(%d, %d) = %d, want %d", start, end, got, first)
			}
		}
	}
}
