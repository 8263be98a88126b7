package output

import (
	"bytes"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	var plain bytes.Buffer
	p := NewProgressLine(&plain, false, "pods")
	p.Update(0, 2, 0, "a/web")
	p.Update(0, 2, time.Second, "a/web") // nothing new is done: no line
	p.Update(1, 2, 2*time.Second, "b/db")
	p.Update(2, 2, 3*time.Second, "")
	p.Finish()
	want := "0/2 pods done, 0s, waiting longest on a/web\n1/2 pods done, 2s, waiting longest on b/db\n2/2 pods done, 3s\n"
	if plain.String() != want {
		t.Errorf("plain:\n%q\nwant\n%q", plain.String(), want)
	}
	var tty bytes.Buffer
	p = NewProgressLine(&tty, true, "pods")
	p.Update(0, 1, 0, "a/web")
	p.Update(1, 1, time.Second, "")
	p.Finish()
	if want := "\r\033[K0/1 pods done, 0s, waiting longest on a/web\r\033[K1/1 pods done, 1s\n"; tty.String() != want {
		t.Errorf("terminal: %q, want %q", tty.String(), want)
	}
}
