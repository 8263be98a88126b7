package cmd

import (
	"fmt"

	"github.com/netbaseline/kubectl-netbaseline/internal/gctune"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// runOfflineFlows compares two policy sets from files on the same
// workloads, without a cluster: which connections between groups change.
func (o *DiffOptions) runOfflineFlows() error {
	defer gctune.Roomy()()
	ns := o.DefaultNamespace()
	load := func(policies []string) (*model.Model, error) {
		m, err := read.Load(o.Inputs(), append(append([]string{}, o.Filenames...), policies...), ns)
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
	return o.printFlowChanges(policy.FlowChanges(policy.New(before), policy.New(after), focus), "OLD", "NEW")
}
