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
	track := newTracker(r.Progress, len(plans), r.now)
	defer track.finish()
	for i, plan := range plans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			key := plan.Pod.Key()
			track.started(key)
			res, mesh, err := r.runSplit(ctx, plan, checkTimeout)
			track.done(key)
			for k, pc := range plan.Checks {
				r := probe.Result{ID: pc.ID, Kind: pc.Kind, Outcome: probe.Error}
				if err != nil {
					r.Detail = err.Error()
				} else {
					r = res[k]
				}
				results[i] = append(results[i], probe.InterpretFrom(pc, r, mode, mesh))
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

// runSplit runs a source's plan in as many agent runs as its size needs
// (probe.MaxPlanArg each), one after the other, results in check order.
func (r *Runner) runSplit(ctx context.Context, plan probe.SourcePlan, checkTimeout time.Duration) ([]probe.Result, *probe.Mesh, error) {
	parts, err := probe.SplitPlan(probe.AgentPlan(plan, checkTimeout), probe.MaxPlanArg)
	if err != nil {
		return nil, nil, err
	}
	if len(parts) > 1 {
		fmt.Fprintf(r.log(), "%s: %d checks, run in %d parts (each probe container carries its plan in its arguments)\n", plan.Pod.Key(), len(plan.Checks), len(parts))
	}
	var out []probe.Result
	var mesh *probe.Mesh
	for _, part := range parts {
		res, partMesh, err := r.RunFrom(ctx, plan.Pod.Namespace, plan.Pod.Name, part)
		if err != nil {
			return nil, partMesh, err
		}
		out, mesh = append(out, res...), partMesh
	}
	return out, mesh, nil
}

// Progress hears how a run of many sources goes: after each source that
// starts or ends, how many are done, how long the run has taken, and the
// source waited on longest (empty when none is running). Finish is called
// once at the end.
type Progress interface {
	Update(done, total int, elapsed time.Duration, slowest string)
	Finish()
}

// tracker feeds a Progress from the sources' goroutines.
type tracker struct {
	mu      sync.Mutex
	p       Progress
	total   int
	n       int
	start   time.Time
	now     func() time.Time
	running map[string]time.Time
}

func newTracker(p Progress, total int, now func() time.Time) *tracker {
	return &tracker{p: p, total: total, now: now, start: now(), running: map[string]time.Time{}}
}

func (t *tracker) started(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.running[key] = t.now()
	t.report()
}

func (t *tracker) done(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.running, key)
	t.n++
	t.report()
}

// report must be called with mu held.
func (t *tracker) report() {
	if t.p == nil {
		return
	}
	slowest, since := "", time.Time{}
	for key, at := range t.running {
		if slowest == "" || at.Before(since) || (at.Equal(since) && key < slowest) {
			slowest, since = key, at
		}
	}
	t.p.Update(t.n, t.total, t.now().Sub(t.start), slowest)
}

func (t *tracker) finish() {
	if t.p != nil {
		t.p.Finish()
	}
}
