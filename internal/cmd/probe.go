package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe/launch"
	"github.com/netbaseline/kubectl-netbaseline/internal/queries"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

var probeLong = templates.LongDesc(`
	Make real connections from inside source pods and compare what happens with
	what the policies say (explain's verdicts).

	For each source pod (Running and Ready, one per group unless --all-pods) the
	plugin adds ONE ephemeral container running the netbaseline-probe agent, which
	makes all of that pod's checks at once (TCP connect, HTTP GET with --http,
	DNS with --dns, UDP) and prints one JSON line per check. Sources run in
	parallel. The container passes Pod Security "restricted" (kubectl's restricted
	debug profile plus a numeric non-root user) and stays in the pod's spec until
	the pod is replaced: ephemeral containers cannot be removed.

	A Service DEST (NS/svc/NAME:PORT, PORT being the Service port) is checked
	through its DNS name and its ClusterIP. Interpretation depends on how the
	enforcer ends denied packets (--deny-mode): when it drops them, a refusal means
	the packet got through and nothing listens; when it rejects them (kube-router),
	a refusal cannot tell the two apart.

	Result: ok, mismatch (the policies do not do what the engine says), fail (the
	policy verdict holds but the application check failed: nothing listening, a
	wrong HTTP status, no endpoints), inconclusive, error (the probe could not run),
	info (nothing expected). Exit status 3 on any mismatch or fail, 1 when probes
	could not run.

	"probe local URL" makes the HTTP check from this machine, e.g. through the
	Ingress.`)

var probeExample = templates.Examples(`
	# Can the frontend reach the backend's pod port, and is it what the policies say?
	kubectl netbaseline probe frontend-dev backend-dev:3001

	# Through the Service, with the health check, and DNS
	kubectl netbaseline probe frontend-dev backend-dev/svc/backend:80 --http /api/health --dns backend.backend-dev.svc.cluster.local

	# Everything else must be dropped
	kubectl netbaseline probe monitoring backend-dev:3001 frontend-dev:3000 198.51.100.10:443

	# From this machine, through the ingress
	kubectl netbaseline probe local https://shop.example.com/api/health

	# For CI: JUnit, and the record report reads
	kubectl netbaseline probe frontend-dev backend-dev:3001 --junit probe.xml --save probe.json`)

// ProbeOptions holds the state of `probe`.
type ProbeOptions struct {
	*GlobalOptions

	Ports      []string
	DNSNames   []string
	HTTPPath   string
	HTTPStatus int
	AllPods    bool
	probeSettings
	DryRun    string
	Output    string
	JUnit     string
	Save      string
	NoHeaders bool
	Queries   string

	source    endpoint.Endpoint
	dests     []endpoint.Endpoint
	ports     []policy.PortSpec
	local     bool
	dryRun    apply.DryRun
	questions []queries.Question
	genericiooptions.IOStreams
}

// NewProbeOptions returns the defaults of `probe`.
func NewProbeOptions(g *GlobalOptions, streams genericiooptions.IOStreams) *ProbeOptions {
	return &ProbeOptions{GlobalOptions: g, IOStreams: streams, Output: "table", HTTPStatus: 200}
}

// NewCmdProbe builds `probe`.
func NewCmdProbe(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewProbeOptions(g, streams)
	c := &cobra.Command{
		Use:               "probe SOURCE DEST[:PORT][/PROTO]... | probe local URL",
		Short:             "Make real connections from source pods and compare with the policies",
		Long:              probeLong,
		Example:           probeExample,
		RunE:              runCommand(o),
		ValidArgsFunction: completeEndpoints(g),
	}
	o.AddFlags(c)
	return c
}

// AddFlags registers probe's flags.
func (o *ProbeOptions) AddFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringArrayVar(&o.Ports, "port", nil, "Destination port PORT[/PROTO] for DESTs without :PORT (repeatable)")
	f.StringArrayVar(&o.DNSNames, "dns", nil, "Also resolve this name from each source, over UDP and TCP (repeatable)")
	f.StringVar(&o.HTTPPath, "http", "", "Make HTTP GETs of this path instead of TCP connects, e.g. /api/health")
	f.IntVar(&o.HTTPStatus, "http-status", o.HTTPStatus, "The HTTP status that counts as success")
	f.BoolVar(&o.AllPods, "all-pods", false, "Probe from and to every pod instead of one per group")
	o.probeSettings.addFlags(c, "timeout")
	addDryRunFlag(c, &o.DryRun)
	c.Flags().Lookup("dry-run").Usage = `Must be "none", "client" or "server": client prints the probe containers (YAML) without adding them; server submits them as a server dry run, so RBAC and admission (Pod Security, Kyverno) answer and nothing is created`
	addOutputFlag(c, &o.Output, output.Probe)
	c.Flags().BoolVar(&o.NoHeaders, "no-headers", false, "Print the table without its header line")
	f.StringVar(&o.JUnit, "junit", "", "Also write a JUnit XML report to this file")
	f.StringVar(&o.Save, "save", "", "Also save the results as JSON to this file (read by report)")
	f.StringVar(&o.Queries, "queries", "", "Probe the questions of this file (- for stdin), as explain --queries reads them: each becomes a check from its source, and an \"expect\" is compared with what really happens (exit 3 when it differs)")
	_ = c.MarkFlagFilename("queries", "jsonl", "json")
}

// Complete parses the endpoints.
func (o *ProbeOptions) Complete(args []string) error {
	if err := inlineTemplateFile(o.Inputs(), &o.Output); err != nil {
		return err
	}
	if o.Queries != "" {
		if len(args) > 0 {
			return usageErrorf("--queries holds the questions: no SOURCE/DEST arguments")
		}
		var err error
		if o.questions, err = readQuestions(o.Inputs(), o.Queries, o.DefaultNamespace()); err != nil {
			return err
		}
		if o.ports, err = parsePortFlags(o.Ports); err != nil {
			return err
		}
		if o.dryRun, err = parseDryRun(o.DryRun); err != nil {
			return err
		}
		o.probeSettings.complete(o.GlobalOptions)
		return nil
	}
	if len(args) == 0 {
		return usageErrorf("probe needs SOURCE and at least one DEST; see 'kubectl netbaseline probe --help'")
	}
	var err error
	if o.source, err = endpoint.ParseIn(args[0], endpoint.Source, o.DefaultNamespace()); err != nil {
		return usageErrorf("SOURCE %v", err)
	}
	o.local = o.source.Kind == endpoint.Local
	for _, a := range args[1:] {
		ep, err := endpoint.ParseIn(a, endpoint.Destination, o.DefaultNamespace())
		if err != nil {
			return usageErrorf("DEST %v", err)
		}
		o.dests = append(o.dests, ep)
	}
	if o.ports, err = parsePortFlags(o.Ports); err != nil {
		return err
	}
	if o.dryRun, err = parseDryRun(o.DryRun); err != nil {
		return err
	}
	o.probeSettings.complete(o.GlobalOptions)
	return nil
}

// Validate checks flag combinations.
func (o *ProbeOptions) Validate() error {
	if err := validateOutput(o.Output, output.Probe, output.Probe); err != nil {
		return err
	}
	if err := o.probeSettings.validate(); err != nil {
		return err
	}
	if !o.local {
		if err := requireProbeImage(o.Image); err != nil {
			return err
		}
	}
	if o.Queries != "" {
		if len(o.Ports) > 0 || len(o.DNSNames) > 0 {
			return usageErrorf("with --queries, each line says its port; --port and --dns do not apply")
		}
		return nil
	}
	if o.local {
		if len(o.dests) != 1 || o.dests[0].Kind != endpoint.URL {
			return usageErrorf("probe local takes exactly one URL, e.g. probe local https://example.com/api/health")
		}
		return nil
	}
	if len(o.dests) == 0 && len(o.DNSNames) == 0 {
		return usageErrorf("give at least one DEST (or --dns NAME)")
	}
	for _, d := range o.dests {
		if d.Kind == endpoint.URL {
			return usageErrorf("DEST %s: URLs are for probe local; from pods use DEST:PORT with --http PATH", d.Raw)
		}
	}
	return nil
}

// Run plans, probes and compares.
func (o *ProbeOptions) Run(ctx context.Context) error {
	if o.local {
		return o.runLocal(ctx)
	}
	clients, err := o.Factory.Clients()
	if err != nil {
		return err
	}
	if o.Queries != "" {
		return o.runQueries(ctx, clients)
	}
	var namespaces []string
	for _, ep := range append([]endpoint.Endpoint{o.source}, o.dests...) {
		if ep.Namespace != "" {
			namespaces = append(namespaces, ep.Namespace)
		}
	}
	snapshot, err := read.LoadLive(ctx, clients, read.LiveOptions{Namespaces: dedupe(append(namespaces, "kube-system"))})
	if err != nil {
		return err
	}
	for _, w := range snapshot.Warnings {
		fmt.Fprintf(o.ErrOut, "Warning: %s\n", w)
	}
	engine := policy.New(snapshot)
	req := probe.Request{Ports: o.ports, DNSNames: o.DNSNames, HTTPPath: o.HTTPPath, HTTPStatus: o.HTTPStatus, AllPods: o.AllPods, Timeout: o.Timeout}
	src, err := endpoint.Resolve(snapshot, o.source)
	if err != nil {
		return resolveError("SOURCE", err)
	}
	if len(src.Pods) == 0 {
		return usageErrorf("SOURCE %s: probe needs pods to run in", o.source.Raw)
	}
	req.Sources = []endpoint.Target{src}
	for _, d := range o.dests {
		t, err := endpoint.Resolve(snapshot, d)
		var noPods *endpoint.NoPodsError
		if err != nil && !errors.As(err, &noPods) {
			return resolveError("DEST", err)
		}
		req.Dests = append(req.Dests, t)
	}
	plans, err := probe.BuildPlans(engine, req)
	if err != nil {
		var pe *probe.PlanError
		if errors.As(err, &pe) {
			return usageErrorf("%v", err)
		}
		return err
	}
	switch o.dryRun {
	case apply.DryRunClient:
		return o.printContainers(plans)
	case apply.DryRunServer:
		return o.serverDryRun(ctx, clients, plans)
	}

	mode := o.denyMode(ctx, clients, o.ErrOut)
	o.announce(o.ErrOut, len(plans), mode)
	observations := o.runPlans(ctx, clients, plans, mode, o.ErrOut)
	res := probe.NewDocument(mode, o.Image, observations)
	res.ProbedAt = time.Now().UTC().Format(time.RFC3339)
	return o.finish(res)
}

func (o *ProbeOptions) printContainers(plans []probe.SourcePlan) error {
	for i, plan := range plans {
		agentPlan := launch.AgentPlan(plan, o.Timeout)
		encoded, err := probe.EncodePlan(agentPlan)
		if err != nil {
			return err
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: plan.Pod.Name, Namespace: plan.Pod.Namespace}}
		ec := probe.BuildContainer(probe.ContainerName(pod, probe.RandomSuffix), o.Image, corev1.PullPolicy(o.PullPolicy), encoded)
		b, err := yaml.Marshal(map[string]any{"pod": plan.Pod.Key(), "ephemeralContainer": ec, "checks": agentPlan.Checks})
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(o.Out, "---")
		}
		fmt.Fprint(o.Out, string(b))
	}
	return nil
}

// serverDryRun submits every source's probe container (or probe pod) as a
// server dry run and says, per source, whether the API server would take it.
func (o *ProbeOptions) serverDryRun(ctx context.Context, clients read.Clients, plans []probe.SourcePlan) error {
	runner := &launch.Runner{Client: clients.Kube, Image: o.Image, PullPolicy: corev1.PullPolicy(o.PullPolicy), Wait: o.WaitTimeout, Mode: o.Mode, Log: o.ErrOut}
	var refused []string
	what := "ephemeral container"
	if o.Mode == probe.ModePod {
		what = "probe pod"
	}
	for _, plan := range plans {
		if err := runner.DryRun(ctx, plan.Pod.Namespace, plan.Pod.Name, launch.AgentPlan(plan, o.Timeout)); err != nil {
			refused = append(refused, err.Error())
			continue
		}
		fmt.Fprintf(o.Out, "pod/%s: %s accepted (server dry run)\n", plan.Pod.Key(), what)
	}
	if len(refused) > 0 {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("the API server would refuse %d of %d probe source(s):\n  %s", len(refused), len(plans), strings.Join(refused, "\n  "))}
	}
	return nil
}

// finish prints, writes --junit and --save, and sets the exit status.
func (o *ProbeOptions) finish(res probe.Document) error {
	var err error
	if opts, table := output.ParseTableFormat(o.Output, o.NoHeaders); !table {
		err = output.WriteDocument(o.Out, o.Output, res)
	} else {
		err = printTable(o.Out, output.ProbeTable(res.Observations), opts)
		for _, note := range output.MeshNotes(res.Observations) {
			fmt.Fprintf(o.ErrOut, "Note: %s\n", note)
		}
	}
	if err != nil {
		return err
	}
	if o.JUnit != "" {
		var buf bytes.Buffer
		if err := output.ProbeJUnit(&buf, res.Observations); err != nil {
			return err
		}
		if err := os.WriteFile(o.JUnit, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	if o.Save != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.Save, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("--save: %w", err)
		}
	}
	return probeExit(res.Observations)
}

// runLocal makes the HTTP check from this machine.
func (o *ProbeOptions) runLocal(ctx context.Context) error {
	ob, err := launch.LocalCheck{URL: o.dests[0].URL, Timeout: o.Timeout, Status: o.HTTPStatus}.Run(ctx)
	if err != nil {
		return usageErrorf("%v", err)
	}
	return o.finish(probe.NewDocument("", "", []probe.Observation{ob}))
}
