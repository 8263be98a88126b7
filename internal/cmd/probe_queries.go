package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/queries"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// runQueries probes every question of --queries from its source pods: the
// file explain --queries answers offline, checked on the cluster. Each
// source pod runs one agent for all its questions.
func (o *ProbeOptions) runQueries(ctx context.Context, clients read.Clients) error {
	source := o.Queries
	if source == "-" {
		source = "stdin"
	}
	snapshot, err := read.LoadLive(ctx, clients, read.LiveOptions{Namespaces: dedupe(append(queries.Namespaces(o.questions), "kube-system"))})
	if err != nil {
		return err
	}
	for _, w := range snapshot.Warnings {
		fmt.Fprintf(o.ErrOut, "Warning: %s\n", w)
	}
	resolved, err := queries.Resolve(snapshot, source, o.questions, true)
	if err != nil {
		var unreadable *model.UnreadableError
		if errors.As(err, &unreadable) {
			return &ExitError{Code: ExitFailed, Err: err}
		}
		return usageErrorf("--queries %v", err)
	}
	engine := policy.New(snapshot)
	var plans []probe.SourcePlan
	var asked []queries.Question // the question of each plan
	for _, r := range resolved {
		if len(r.From.Pods) == 0 {
			return usageErrorf("--queries %s:%d: from %s: probe needs pods to run in", source, r.Line, r.Question.From.Raw)
		}
		ps, err := probe.BuildPlans(engine, probe.Request{Sources: []endpoint.Target{r.From}, Dests: []endpoint.Target{r.To}, Ports: r.Ports,
			HTTPPath: o.HTTPPath, HTTPStatus: o.HTTPStatus, AllPods: o.AllPods, Timeout: o.Timeout})
		if err != nil {
			return usageErrorf("--queries %s:%d: %v", source, r.Line, err)
		}
		for _, p := range ps {
			plans = append(plans, p)
			asked = append(asked, r.Question)
		}
	}
	merged, origin := probe.Merge(plans)
	switch o.dryRun {
	case apply.DryRunClient:
		return o.printContainers(merged)
	case apply.DryRunServer:
		return o.serverDryRun(ctx, clients, merged)
	}
	mode := o.denyMode(ctx, clients, o.ErrOut)
	o.announce(o.ErrOut, len(merged), mode)
	obs := o.runPlans(ctx, clients, merged, mode, o.ErrOut)
	var unmet []string
	for i, ob := range obs {
		if i >= len(origin) {
			break
		}
		q := asked[origin[i]]
		if q.Expect != "" && !observedAs(ob.Observed, q.Expect) {
			unmet = append(unmet, fmt.Sprintf("line %d: %s -> %s %s: expected %s, observed %s", q.Line, ob.From, ob.To, ob.Port, q.Expect, ob.Observed))
		}
	}
	res := probe.NewDocument(mode, o.Image, obs)
	res.ProbedAt = time.Now().UTC().Format(time.RFC3339)
	err = o.finish(res)
	fmt.Fprintf(o.ErrOut, "%d question(s), %d check(s): %d expectation(s) not met\n", len(resolved), len(obs), len(unmet))
	if len(unmet) > 0 && err == nil {
		return &ExitError{Code: ExitUnmet, Err: fmt.Errorf("%d check(s) did not show what the questions expect:\n  %s", len(unmet), strings.Join(unmet, "\n  "))}
	}
	return err
}

// observedAs: what the connection showed agrees with the expectation. A
// refusal where the enforcer rejects can be a denial (probe's reading of
// it), so it agrees with "denied"; "nothing listening" is not "allowed".
func observedAs(observed string, expect policy.Verdict) bool {
	switch expect {
	case policy.Allowed:
		return observed == probe.ObservedAllowed
	case policy.Denied:
		return observed == probe.ObservedDenied || observed == probe.ObservedRefused
	}
	return true
}
