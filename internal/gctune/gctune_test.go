package gctune

import (
	"runtime/debug"
	"testing"
)

func TestRoomyGCRestoresTheCollector(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	defer debug.SetGCPercent(percent)
	restore := Roomy()
	if got := debug.SetGCPercent(loadGCPercent); got != loadGCPercent {
		t.Errorf("GC percent during the load: %d, want %d", got, loadGCPercent)
	}
	if got := debug.SetMemoryLimit(-1); got != loadMemoryLimit {
		t.Errorf("memory limit during the load: %d, want %d", got, loadMemoryLimit)
	}
	restore()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent after the load: %d, want 100", got)
	}
	if got := debug.SetMemoryLimit(-1); got != limit {
		t.Errorf("memory limit after the load: %d, want %d", got, limit)
	}
}

func TestRoomyGCLeavesTheUsersSetting(t *testing.T) {
	t.Setenv("GOGC", "50")
	percent := debug.SetGCPercent(77)
	defer debug.SetGCPercent(percent)
	defer Roomy()()
	if got := debug.SetGCPercent(77); got != 77 {
		t.Errorf("GC percent changed to %d although GOGC is set", got)
	}
}
