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
