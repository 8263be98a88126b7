package launch

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
)

// RunPlans runs every source's plan, parallel sources at once, each check
// bounded by checkTimeout, and interprets the results; a source that could
// not run yields error observations, never verdicts.
func (r *Runner) RunPlans(ctx context.Context, plans []probe.SourcePlan, mode probe.DenyMode, parallel int, checkTimeout time.Duration) []probe.Observation {
	if parallel < 1 {
		parallel = 1
	}
	results := make([][]probe.Observation, len(plans))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, plan := range plans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			res, err := r.Run(ctx, plan.Pod.Namespace, plan.Pod.Name, AgentPlan(plan, checkTimeout))
			for k, pc := range plan.Checks {
				r := probe.Result{ID: pc.ID, Kind: pc.Kind, Outcome: probe.Error}
				if err != nil {
					r.Detail = err.Error()
				} else {
					r = res[k]
				}
				results[i] = append(results[i], probe.Interpret(pc, r, mode))
			}
			if err != nil {
				fmt.Fprintf(r.log(), "error: %v\n", err)
			}
		}()
	}
	wg.Wait()
	var out []probe.Observation
	for _, r := range results {
		out = append(out, r...)
	}
	return out
}

// AgentPlan is what the agent of one source runs: its checks, within a
// deadline that leaves the last check its timeout.
func AgentPlan(plan probe.SourcePlan, checkTimeout time.Duration) probe.Plan {
	p := probe.Plan{DeadlineMS: (checkTimeout + 2*time.Second).Milliseconds()}
	for _, pc := range plan.Checks {
		p.Checks = append(p.Checks, pc.Check)
	}
	return p
}
