package cmd

import (
	"context"
	"errors"

	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/input"
)

// Exit codes, shared by every command: see internal/exit.
const (
	ExitOK     = exit.OK
	ExitFailed = exit.Failed
	ExitUsage  = exit.Usage
	ExitUnmet  = exit.Unmet
)

// ExitError carries an exit code up to main (internal/exit).
type ExitError = exit.Error

// usageErrorf reports invalid usage (exit 2).
func usageErrorf(format string, args ...any) error { return exit.Usagef(format, args...) }

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
