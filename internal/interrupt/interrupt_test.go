package interrupt

import (
	"testing"
	"time"
)

// reset puts the package back as a fresh process has it.
func reset(t *testing.T) {
	t.Cleanup(func() {
		mu.Lock()
		holds, exiting = 0, false
		mu.Unlock()
	})
}

func TestHoldKeepsTheProcessUntilReleased(t *testing.T) {
	reset(t)
	release := Hold()
	other := Hold()
	if ExitIfIdle() {
		t.Fatal("exits while work that must finish is running")
	}
	release()
	release() // twice is once
	if ExitIfIdle() {
		t.Fatal("exits while a second hold is running")
	}
	other()
	if !ExitIfIdle() {
		t.Fatal("does not exit once every hold is released")
	}
}

func TestNothingStartsOnceTheProcessExits(t *testing.T) {
	reset(t)
	if !ExitIfIdle() {
		t.Fatal("an idle process does not exit")
	}
	started := make(chan struct{})
	go func() {
		Hold()
		close(started)
	}()
	select {
	case <-started:
		t.Fatal("a hold began after the process decided to exit")
	case <-time.After(100 * time.Millisecond):
	}
}
