// Command kubectl-netbaseline is the kubectl plugin `kubectl netbaseline`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	// The kubeconfig auth providers kubectl has (OIDC), as krew asks of
	// plugins; exec credential plugins (EKS's aws eks get-token) need none.
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	"github.com/netbaseline/kubectl-netbaseline/internal/cmd"
	"github.com/netbaseline/kubectl-netbaseline/internal/interrupt"
)

func main() {
	os.Exit(run())
}

func run() int {
	ctx, stop := interruptible()
	defer stop()

	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	err := cmd.Execute(ctx, streams, os.Args[1:])
	if err != nil {
		if msg := cmd.Message(err); msg != "" {
			fmt.Fprintln(os.Stderr, msg)
		}
	}
	return cmd.ExitCode(err)
}

// interruptible: the first Ctrl-C (or SIGTERM) cancels the context, and
// commands stop cleanly, undoing what they started; a run that holds
// nothing to undo (reading, parsing, computing) exits within
// interrupt.Grace even if a loop does not look at the context; the second
// signal ends the process at once, whatever a hung call is doing.
func interruptible() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-signals:
		case <-done:
			return
		}
		fmt.Fprintln(os.Stderr, "Interrupted: stopping and undoing what this run started; press Ctrl-C again to exit at once")
		cancel()
		select {
		case <-time.After(interrupt.Grace):
			if interrupt.ExitIfIdle() {
				fmt.Fprintln(os.Stderr, "error: interrupted")
				os.Exit(130)
			}
		case <-done:
			return
		case <-signals:
			exitNow()
		}
		select {
		case <-signals:
			exitNow()
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(signals)
		close(done)
		cancel()
	}
}

func exitNow() {
	fmt.Fprintln(os.Stderr, "Interrupted again: exiting now; what had landed stays (kubectl netbaseline rollback removes it)")
	os.Exit(130)
}
