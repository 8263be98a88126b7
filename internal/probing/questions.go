package probing

import (
	"context"
	"fmt"
	"strings"

	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/queries"
)

// runQuestions probes every question of --queries from its source pods:
// the file explain --queries answers offline, checked on the cluster. Each
// source pod runs one agent for all its questions.
func (c Config) runQuestions(ctx context.Context) error {
	snapshot, err := c.loadNamespaces(ctx, queries.Namespaces(c.Questions))
	if err != nil {
		return err
	}
	resolved, source, err := queries.ResolveFile(snapshot, c.QuestionsFrom, c.Questions, true)
	if err != nil {
		return err
	}
	engine := policy.New(snapshot)
	var plans []probe.SourcePlan
	var asked []queries.Question // the question of each plan
	for _, r := range resolved {
		if len(r.From.Pods) == 0 {
			return exit.Usagef("--queries %s:%d: from %s: probe needs pods to run in", source, r.Line, r.Question.From.Raw)
		}
		ps, err := probe.BuildPlans(engine, probe.Request{Sources: []endpoint.Target{r.From}, Dests: []endpoint.Target{r.To}, Ports: r.Ports,
			HTTPPath: c.HTTPPath, HTTPStatus: c.HTTPStatus, AllPods: c.AllPods, Timeout: c.Settings.CheckTimeout})
		if err != nil {
			return exit.Usagef("--queries %s:%d: %v", source, r.Line, err)
		}
		for _, p := range ps {
			plans = append(plans, p)
			asked = append(asked, r.Question)
		}
	}
	merged, origin := probe.Merge(plans)
	obs, mode, done, err := c.launch(ctx, merged)
	if done || err != nil {
		return err
	}
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
	err = c.Print.Finish(c.document(mode, obs))
	fmt.Fprintf(c.Print.ErrOut, "%d question(s), %d check(s): %d expectation(s) not met\n", len(resolved), len(obs), len(unmet))
	if len(unmet) > 0 && err == nil {
		return exit.Unmetf("%d check(s) did not show what the questions expect:\n  %s", len(unmet), strings.Join(unmet, "\n  "))
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
