package cmd

import (
	"errors"
	"fmt"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// runOfflineFlows compares two policy sets from files on the same
// workloads, without a cluster: which connections between groups change.
func (o *DiffOptions) runOfflineFlows() error {
	ns := o.DefaultNamespace()
	load := func(policies []string) (*model.Model, error) {
		m, err := read.LoadFiles(append(append([]string{}, o.Filenames...), policies...), o.In, ns)
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
		return m, nil
	}
	before, err := load(o.Old)
	if err != nil {
		return err
	}
	after, err := load(o.New)
	if err != nil {
		return err
	}
	if len(after.Pods) == 0 {
		return usageErrorf("no pods to compare on: give the workloads with -f (Pods, Deployments, StatefulSets, …)")
	}
	for _, w := range after.Warnings {
		fmt.Fprintf(o.ErrOut, "Warning: %s\n", w)
	}
	focus := map[string]bool{}
	for _, n := range o.Namespaces {
		focus[n] = true
	}
	if len(focus) == 0 {
		for _, n := range after.Namespaces {
			focus[n.Name] = true
		}
	}
	changes := policy.FlowChanges(policy.New(before), policy.New(after), focus)
	switch {
	case o.Output == "json":
		err = output.WriteDocument(o.Out, "json", output.NewFlowDiff(changes))
	case len(changes) == 0:
		fmt.Fprintln(o.ErrOut, "No connection between groups changes.")
	default:
		err = output.FlowDiffTable(o.Out, changes, "OLD", "NEW")
	}
	if err != nil {
		return err
	}
	if len(changes) > 0 {
		return &ExitError{Code: 1, Silent: true, Err: errors.New("connections change")}
	}
	return nil
}
