// Command kubectl-netbaseline is the kubectl plugin `kubectl netbaseline`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/netbaseline/kubectl-netbaseline/pkg/cmd"
)

func main() {
	os.Exit(run())
}

func run() int {
	// Ctrl-C cancels the context; commands clean up what they started.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	err := cmd.NewCmdNetBaseline(streams).ExecuteContext(ctx)
	if err != nil {
		if msg := cmd.Message(err); msg != "" {
			fmt.Fprintln(os.Stderr, msg)
		}
	}
	return cmd.ExitCode(err)
}
