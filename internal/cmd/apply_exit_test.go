package cmd

import (
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/applying"
	"github.com/netbaseline/kubectl-netbaseline/internal/verify"
)

// A verification undone after a mismatch is exit 3; one stopped, kept and
// unverified because its probes went through a mesh proxy is exit 1 (the
// work, verifying, could not be done), never 0 and never "rolled back".
func TestApplyVerifyExitCodes(t *testing.T) {
	mismatch := &apply.FailedError{Namespace: "a", Err: &verify.MismatchError{Namespace: "a"}}
	meshed := &apply.UnverifiedError{Namespace: "a", Applied: []string{"a"}, Err: &verify.InconclusiveError{Namespace: "a"}}
	for _, tt := range []struct {
		name string
		err  error
		code int
	}{{"mismatch, undone", mismatch, ExitUnmet}, {"through a mesh, kept", meshed, ExitFailed}} {
		if got := ExitCode(applying.Exit(tt.err)); got != tt.code {
			t.Errorf("%s: exit %d, want %d", tt.name, got, tt.code)
		}
	}
}
