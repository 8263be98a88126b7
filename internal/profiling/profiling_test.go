package profiling

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
)

func TestEveryProfileIsWrittenWhenTheCommandEnds(t *testing.T) {
	for _, name := range Names[1:] {
		p := &Profile{name: name, output: filepath.Join(t.TempDir(), name+".pprof")}
		if err := p.Start(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := p.Flush(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if info, err := os.Stat(p.output); err != nil || info.Size() == 0 {
			t.Fatalf("%s: no profile written (%v)", name, err)
		}
	}
}

func TestAnUnknownProfileIsBadUsage(t *testing.T) {
	var e *exit.Error
	if err := (&Profile{name: "disk"}).Start(); !errors.As(err, &e) || e.Code != exit.Usage {
		t.Fatalf("want exit 2, got %v", err)
	}
	if err := (&Profile{name: "none"}).Flush(); err != nil {
		t.Fatal(err)
	}
}
