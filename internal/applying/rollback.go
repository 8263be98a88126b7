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
	// Names prints resource/name alone per object (-o name).
	Names       bool
	Out, ErrOut io.Writer
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
			r.line("networkpolicy.networking.k8s.io/"+res.Name, string(res.Op), applier.DryRun)
		}
		if err != nil {
			return err
		}
		if plan.HasBackup {
			r.line("configmap/"+ownership.BackupName, "deleted", applier.DryRun)
		}
		if plan.HasParent {
			r.line("configmap/"+ownership.ParentName, "deleted", applier.DryRun)
		}
	}
	return nil
}

// line reports one object as kubectl does: resource/name and what
// happened, or the name alone with -o name.
func (r Rollback) line(object, op string, dryRun apply.DryRun) {
	if r.Names {
		fmt.Fprintln(r.Out, object)
		return
	}
	fmt.Fprintf(r.Out, "%s %s%s\n", object, op, DryRunSuffix(dryRun))
}
