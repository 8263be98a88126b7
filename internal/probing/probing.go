// Package probing is probe's use case: resolve the sources and
// destinations in the model, plan each source pod's checks with the
// engine's verdicts, run them through an injected launcher (or print or
// server-dry-run the containers), and write the document, its JUnit and
// its saved copy with the exit status scripts read. The command only turns
// flags into a Config.
package probing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/queries"
)

// Launcher runs plans in the cluster (internal/probe/launch's Runner).
type Launcher interface {
	RunPlans(ctx context.Context, plans []probe.SourcePlan, mode probe.DenyMode, parallel int, checkTimeout time.Duration) []probe.Observation
	DryRun(ctx context.Context, namespace, name string, plan probe.Plan) error
}

// Config is one run of probe: a source and destinations, or the questions
// of a file.
type Config struct {
	Source endpoint.Endpoint
	Dests  []endpoint.Endpoint

	Questions []queries.Question
	// QuestionsFrom names the questions' file in messages ("-" is stdin).
	QuestionsFrom string

	Ports      []policy.PortSpec
	DNSNames   []string
	HTTPPath   string
	HTTPStatus int
	AllPods    bool

	Settings Settings
	DryRun   apply.DryRun
	Print    Printing

	// Load reads the model of these namespaces.
	Load     func(ctx context.Context, namespaces []string) (*model.Model, error)
	Launcher Launcher
	// DenyMode is --deny-mode or what the cluster's enforcer implies.
	DenyMode func(ctx context.Context) probe.DenyMode
	Now      func() time.Time
}

// Settings are how probes run (probe, apply --verify, report --probe).
type Settings struct {
	Image        string
	PullPolicy   string
	Mode         string // probe.ModeEphemeral or probe.ModePod
	Parallel     int
	CheckTimeout time.Duration
}

// Printing is where and how the results go.
type Printing struct {
	Output    string
	NoHeaders bool
	// JUnit and Save are files to write besides (none when empty).
	JUnit, Save string
	// PrintTable prints kubectl's tables and custom columns.
	PrintTable  func(io.Writer, output.Table, output.TableOptions) error
	WriteFile   func(name string, data []byte) error
	Out, ErrOut io.Writer
}

// Run probes, prints and returns probe's exit status.
func Run(ctx context.Context, c Config) error {
	if c.Source.Kind == endpoint.Local {
		return c.runLocal(ctx)
	}
	if c.QuestionsFrom != "" {
		return c.runQuestions(ctx)
	}
	snapshot, err := c.load(ctx, append([]endpoint.Endpoint{c.Source}, c.Dests...))
	if err != nil {
		return err
	}
	req, err := c.request(snapshot)
	if err != nil {
		return err
	}
	plans, err := probe.BuildPlans(policy.New(snapshot), req)
	if err != nil {
		var pe *probe.PlanError
		if errors.As(err, &pe) {
			return exit.Usagef("%v", err)
		}
		return err
	}
	obs, mode, done, err := c.launch(ctx, plans)
	if done || err != nil {
		return err
	}
	return c.Print.Finish(c.document(mode, obs))
}

// load reads the namespaces of the endpoints (and kube-system, where DNS
// lives) and warns about what the read said.
func (c Config) load(ctx context.Context, eps []endpoint.Endpoint) (*model.Model, error) {
	namespaces := []string{}
	for _, ep := range eps {
		if ep.Namespace != "" {
			namespaces = append(namespaces, ep.Namespace)
		}
	}
	return c.loadNamespaces(ctx, namespaces)
}

func (c Config) loadNamespaces(ctx context.Context, namespaces []string) (*model.Model, error) {
	snapshot, err := c.Load(ctx, model.Unique(append(namespaces, "kube-system")))
	if err != nil {
		return nil, err
	}
	for _, w := range snapshot.Warnings {
		fmt.Fprintf(c.Print.ErrOut, "Warning: %s\n", w)
	}
	return snapshot, nil
}

// request resolves the source and destinations.
func (c Config) request(snapshot *model.Model) (probe.Request, error) {
	req := probe.Request{Ports: c.Ports, DNSNames: c.DNSNames, HTTPPath: c.HTTPPath, HTTPStatus: c.HTTPStatus, AllPods: c.AllPods, Timeout: c.Settings.CheckTimeout}
	src, err := endpoint.Resolve(snapshot, c.Source)
	if err != nil {
		return req, endpoint.ResolveExit("SOURCE", err)
	}
	if len(src.Pods) == 0 {
		return req, exit.Usagef("SOURCE %s: probe needs pods to run in", c.Source.Raw)
	}
	req.Sources = []endpoint.Target{src}
	for _, d := range c.Dests {
		t, err := endpoint.Resolve(snapshot, d)
		var noPods *endpoint.NoPodsError
		if err != nil && !errors.As(err, &noPods) {
			return req, endpoint.ResolveExit("DEST", err)
		}
		req.Dests = append(req.Dests, t)
	}
	return req, nil
}

// launch runs the plans, or prints or server-dry-runs their containers
// (done: nothing more to print).
func (c Config) launch(ctx context.Context, plans []probe.SourcePlan) (obs []probe.Observation, mode probe.DenyMode, done bool, err error) {
	switch c.DryRun {
	case apply.DryRunClient:
		return nil, "", true, PrintContainers(c.Print.Out, plans, c.Settings, c.Print.Output)
	case apply.DryRunServer:
		return nil, "", true, c.serverDryRun(ctx, plans)
	}
	mode = c.DenyMode(ctx)
	Announce(c.Print.ErrOut, c.Settings, len(plans), mode)
	return c.Launcher.RunPlans(ctx, plans, mode, c.Settings.Parallel, c.Settings.CheckTimeout), mode, false, nil
}

// runLocal makes the HTTP check of probe local from this machine.
func (c Config) runLocal(ctx context.Context) error {
	if err := CheckTargets(c.Source, c.Dests, nil); err != nil {
		return err
	}
	ob, err := LocalCheck{URL: c.Dests[0].URL, Timeout: c.Settings.CheckTimeout, Status: c.HTTPStatus}.Run(ctx)
	if err != nil {
		return exit.Usagef("%v", err)
	}
	return c.Print.Finish(probe.NewDocument("", "", []probe.Observation{ob}))
}

// document is the results with when and how they were probed.
func (c Config) document(mode probe.DenyMode, obs []probe.Observation) probe.Document {
	res := probe.NewDocument(mode, c.Settings.Image, obs)
	res.ProbedAt = c.Now().UTC().Format(time.RFC3339)
	return res
}

// Announce says on stderr what is about to be added to the cluster.
func Announce(log io.Writer, s Settings, sources int, mode probe.DenyMode) {
	if s.Mode == probe.ModePod {
		fmt.Fprintf(log, "Probing with %d short-lived pod(s) carrying the sources' labels, image %s (deny mode %s). Note: on some enforcers (EKS) a brand-new pod is briefly unenforced.\n", sources, s.Image, mode)
	} else {
		fmt.Fprintf(log, "Probing from %d pod(s) with %s (deny mode %s). Each probed pod keeps an ephemeral container in its spec until it is replaced.\n", sources, s.Image, mode)
	}
}

// serverDryRun submits every source's probe container (or probe pod) as a
// server dry run and says, per source, whether the API server would take it.
func (c Config) serverDryRun(ctx context.Context, plans []probe.SourcePlan) error {
	var refused []string
	what := "ephemeral container"
	if c.Settings.Mode == probe.ModePod {
		what = "probe pod"
	}
	for _, plan := range plans {
		if err := c.Launcher.DryRun(ctx, plan.Pod.Namespace, plan.Pod.Name, probe.AgentPlan(plan, c.Settings.CheckTimeout)); err != nil {
			refused = append(refused, err.Error())
			continue
		}
		fmt.Fprintf(c.Print.Out, "pod/%s: %s accepted (server dry run)\n", plan.Pod.Key(), what)
	}
	if len(refused) > 0 {
		return exit.Failedf("the API server would refuse %d of %d probe source(s):\n  %s", len(refused), len(plans), strings.Join(refused, "\n  "))
	}
	return nil
}
