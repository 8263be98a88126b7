package exit

import (
	"errors"
	"fmt"
	"testing"
)

func TestStatusOfAnError(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want int
	}{
		{nil, OK},
		{errors.New("the API server is gone"), Failed},
		{Usagef("bad"), Usage},
		{fmt.Errorf("wrapped: %w", Unmetf("missed")), Unmet},
	} {
		if got := StatusOf(tt.err); got != tt.want {
			t.Errorf("%v: %d, want %d", tt.err, got, tt.want)
		}
	}
}
