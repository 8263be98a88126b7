package cmd

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/input"
)

// Exit codes, shared by every command (docs/design.md). diff follows kubectl
// diff instead: 0 no differences, 1 differences, >1 error.
const (
	ExitOK = 0
	// ExitFailed: the work could not be done (cluster access, API errors).
	ExitFailed = 1
	// ExitUsage: invalid flags, arguments or input files.
	ExitUsage = 2
	// ExitUnmet: done, but expectations were not met.
	ExitUnmet = 3
)

// ExitError carries an exit code up to main. Silent errors have already
// told the user what happened (e.g. a probe table with mismatches).
type ExitError struct {
	Code   int
	Err    error
	Silent bool
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// usageErrorf reports invalid usage (exit 2).
func usageErrorf(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// ExitCode maps an error returned by a command to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var exitErr *ExitError
	var inputErr *baseline.InputError
	var configErr *config.InvalidError
	var badInput *input.Error
	switch {
	case errors.As(err, &exitErr):
		return exitErr.Code
	case errors.As(err, &inputErr), errors.As(err, &configErr), errors.As(err, &badInput), genericclioptions.IsNoCompatiblePrinterError(err):
		return ExitUsage
	}
	return ExitFailed
}

// Message is the one line (or block) main prints for an error, or "" when
// the command has already reported it.
func Message(err error) string {
	if err == nil {
		return ""
	}
	var exitErr *ExitError
	if errors.As(err, &exitErr) && exitErr.Silent {
		return ""
	}
	if errors.Is(err, context.Canceled) {
		return "error: interrupted"
	}
	return "error: " + err.Error()
}
