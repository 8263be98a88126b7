// Package gctune tunes the garbage collector for the burst of a load.
package gctune

import (
	"os"
	"runtime/debug"
)

// Reading manifests allocates mostly garbage (decoded YAML trees) while
// the heap that survives is small, so the default collector, which starts
// at a 4 MiB heap, runs many cycles for nothing: about a fifth of the load.
// While the model is read and compiled, the collector waits for 5× the
// live heap, capped at loadMemoryLimit; GOGC and GOMEMLIMIT set by the
// user win.
const (
	loadGCPercent   = 400
	loadMemoryLimit = 1 << 30
)

// Roomy relaxes the collector and returns the function restoring it.
func Roomy() (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	limit := debug.SetMemoryLimit(loadMemoryLimit)
	percent := debug.SetGCPercent(loadGCPercent)
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
}
