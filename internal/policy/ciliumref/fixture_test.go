package ciliumref

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFixtures runs every case of every fixture under testdata/cilium/ref
// (ours) and testdata/cilium/ported (filled later; tolerated missing).
func TestFixtures(t *testing.T) {
	total := 0
	for _, dir := range []string{"../testdata/cilium/ref", "../testdata/cilium/ported"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			t.Logf("%s: missing, skipped", dir)
			continue
		}
		for _, path := range files {
			total += runFixture(t, path)
		}
	}
	t.Logf("%d fixture cases", total)
}

func runFixture(t *testing.T, path string) int {
	t.Helper()
	f, err := LoadFixture(path)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return 0
	}
	if f.Source == "" {
		t.Errorf("%s: no source", path)
	}
	for i, c := range f.Cases {
		got, err := Decide(f.Cluster, c.From, c.To, c.Port, c.Protocol)
		if err != nil {
			t.Errorf("%s case %d: %v", filepath.Base(path), i, err)
			continue
		}
		if got.Verdict != c.Expect {
			t.Errorf("%s case %d (%+v -> %+v %d/%s): got %s, want %s\n  reason: %s\n  note: %s",
				filepath.Base(path), i, c.From, c.To, c.Port, c.Protocol, got.Verdict, c.Expect, got.Reason, c.Note)
			continue
		}
		if c.L7 != nil && got.L7 != *c.L7 {
			t.Errorf("%s case %d: got l7=%v, want %v\n  reason: %s", filepath.Base(path), i, got.L7, *c.L7, got.Reason)
		}
	}
	return len(f.Cases)
}
