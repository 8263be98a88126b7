package baseline

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
)

func TestInitWritesTheTreeAndNeverOverwritesUnasked(t *testing.T) {
	src, err := EmbeddedSource()
	if err != nil {
		t.Fatal(err)
	}
	ns := src.Namespaces()[0]
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	w := Init{Source: src, Namespaces: []string{ns}, Dir: dir, Out: &out, ErrOut: &errOut}
	if err := w.Write(); err != nil {
		t.Fatal(err)
	}
	kustomization := filepath.Join(dir, ns, KustomizationFile)
	if _, err := os.Stat(kustomization); err != nil || !strings.Contains(out.String(), kustomization) {
		t.Fatalf("no %s written (stdout %q): %v", kustomization, out.String(), err)
	}

	// A hand-written file and an older kustomization.yml beside it.
	handWritten := filepath.Join(dir, ns, "extra.yaml")
	stale := filepath.Join(dir, ns, "kustomization.yml")
	for _, p := range []string{handWritten, stale} {
		if err := os.WriteFile(p, []byte("# mine\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	err = w.Write()
	var e *exit.Error
	if !errors.As(err, &e) || e.Code != exit.Usage || !strings.Contains(err.Error(), "without --force") {
		t.Fatalf("want exit 2 without --force, got %v", err)
	}
	if b, _ := os.ReadFile(stale); string(b) != "# mine\n" {
		t.Fatal("a refused init touched a file")
	}

	errOut.Reset()
	w.Force = true
	if err := w.Write(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("the older kustomization.yml is still there: %v", err)
	}
	if !strings.Contains(errOut.String(), "Warning: "+handWritten+" is not listed") {
		t.Fatalf("no warning about the unlisted file:\n%s", errOut.String())
	}
}
