package applying

import (
	"context"
	"fmt"
	"io"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
)

// Rollback is one run of rollback.
type Rollback struct {
	Namespaces []string
	// PrintCommand prints the kubectl command of each rollback instead of
	// running it.
	PrintCommand bool
	Out, ErrOut  io.Writer
}

// Run plans each namespace's rollback and carries it out (or prints it),
// reporting every object it deletes or restores.
func (r Rollback) Run(ctx context.Context, applier *apply.Applier) error {
	for _, ns := range r.Namespaces {
		plan, err := applier.PlanRollback(ctx, ns)
		if err != nil {
			return Exit(err)
		}
		if plan.Empty() {
			fmt.Fprintf(r.ErrOut, "Nothing to roll back in %s: kubectl netbaseline applied nothing there\n", ns)
			continue
		}
		if r.PrintCommand {
			fmt.Fprintln(r.Out, plan.KubectlCommand())
			continue
		}
		fmt.Fprintf(r.ErrOut, "Rolling back namespace %s\n", ns)
		results, err := applier.Rollback(ctx, plan)
		for _, res := range results {
			fmt.Fprintf(r.Out, "networkpolicy.networking.k8s.io/%s %s%s\n", res.Name, res.Op, DryRunSuffix(applier.DryRun))
		}
		if err != nil {
			return err
		}
		if plan.HasBackup {
			fmt.Fprintf(r.Out, "configmap/%s deleted%s\n", ownership.BackupName, DryRunSuffix(applier.DryRun))
		}
		if plan.HasParent {
			fmt.Fprintf(r.Out, "configmap/%s deleted%s\n", ownership.ParentName, DryRunSuffix(applier.DryRun))
		}
	}
	return nil
}
