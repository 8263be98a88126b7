package cmd

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
)

func TestProfileWritten(t *testing.T) {
	t.Setenv(config.EnvConfig, "")
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "no-kubeconfig"))
	for _, name := range []string{"cpu", "heap", "goroutine"} {
		out := filepath.Join(t.TempDir(), name+".pprof")
		streams, _, _, _ := genericiooptions.NewTestIOStreams()
		if err := Execute(context.Background(), streams, []string{"render", "-n", "backend-dev", "--profile", name, "--profile-output", out}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		info, err := os.Stat(out)
		if err != nil || info.Size() == 0 {
			t.Fatalf("%s: no profile written (%v)", name, err)
		}
	}
}

func TestProfileUnknownIsUsageError(t *testing.T) {
	r := run(t, "render", "-n", "backend-dev", "--profile", "disk")
	if r.code != ExitUsage {
		t.Fatalf("exit %d, want %d: %s", r.code, ExitUsage, r.stderr)
	}
}
