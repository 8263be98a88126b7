// Package interrupt decides how long a run may outlive its first
// Ctrl-C/SIGTERM. Reading, parsing and computing are cut short: the
// process exits within a second. Work that must finish once started (a
// transition's undo, deleting a probe pod, removing the canary) holds
// the process until it is done; a second signal still exits at once.
package interrupt

import (
	"sync"
	"time"
)

// Grace is how long an interrupted run that holds nothing may take to
// return on its own before the process exits.
const Grace = 700 * time.Millisecond

var (
	mu      sync.Mutex
	holds   int
	exiting bool
)

// Hold marks the start of work that must finish, once begun, even after
// an interrupt; release marks its end. A Hold asked for after the process
// has decided to exit never returns: nothing new starts.
func Hold() (release func()) {
	mu.Lock()
	if exiting {
		mu.Unlock()
		select {} // the process is exiting; start nothing
	}
	holds++
	mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			holds--
			mu.Unlock()
		})
	}
}

// ExitIfIdle reports whether nothing holds the process; if so, it also
// stops every later Hold, so the caller may exit.
func ExitIfIdle() bool {
	mu.Lock()
	defer mu.Unlock()
	if holds == 0 {
		exiting = true
	}
	return exiting
}
