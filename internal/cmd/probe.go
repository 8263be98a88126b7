package cmd

import (
	"context"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/cmd/flagutil"
	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/output/kubeprint"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/probing"
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
	flagutil.AddDryRunFlag(c, &o.DryRun)
	c.Flags().Lookup("dry-run").Usage = `Must be "none", "client" or "server": client prints the probe containers (YAML) without adding them; server submits them as a server dry run, so RBAC and admission (Pod Security, Kyverno) answer and nothing is created`
	flagutil.AddOutputFlag(c, &o.Output, output.Probe)
	c.Flags().BoolVar(&o.NoHeaders, "no-headers", false, "Print the table without its header line")
	f.StringVar(&o.JUnit, "junit", "", "Also write a JUnit XML report to this file")
	f.StringVar(&o.Save, "save", "", "Also save the results as JSON to this file (read by report)")
	f.StringVar(&o.Queries, "queries", "", "Probe the questions of this file (- for stdin), as explain --queries reads them: each becomes a check from its source, and an \"expect\" is compared with what really happens (exit 3 when it differs)")
	_ = c.MarkFlagFilename("queries", "jsonl", "json")
}

// Complete parses the endpoints, ports and questions.
func (o *ProbeOptions) Complete(args []string) error {
	if err := flagutil.InlineTemplateFile(o.Inputs(), &o.Output); err != nil {
		return err
	}
	var err error
	if o.ports, err = flagutil.ParsePortFlags(o.Ports); err != nil {
		return err
	}
	if o.dryRun, err = flagutil.ParseDryRun(o.DryRun, o.ErrOut); err != nil {
		return err
	}
	o.probeSettings.complete(o.GlobalOptions)
	if o.Queries != "" {
		if len(args) > 0 {
			return usageErrorf("--queries holds the questions: no SOURCE/DEST arguments")
		}
		o.questions, err = readQuestions(o.Inputs(), o.Queries, o.DefaultNamespace())
		return err
	}
	if len(args) == 0 {
		return usageErrorf("probe needs SOURCE and at least one DEST; see 'kubectl netbaseline probe --help'")
	}
	o.source, o.dests, err = probing.ParseTargets(args[0], args[1:], o.DefaultNamespace())
	o.local = o.source.Kind == endpoint.Local
	return err
}

// Validate checks flag combinations.
func (o *ProbeOptions) Validate() error {
	if err := flagutil.ValidateOutput(o.Output, output.Probe, output.Probe); err != nil {
		return err
	}
	if err := o.probeSettings.validate(); err != nil {
		return err
	}
	if !o.local {
		if err := probing.RequireImage(o.Image); err != nil {
			return err
		}
	}
	if o.Queries != "" {
		if len(o.Ports) > 0 || len(o.DNSNames) > 0 {
			return usageErrorf("with --queries, each line says its port; --port and --dns do not apply")
		}
		return nil
	}
	return probing.CheckTargets(o.source, o.dests, o.DNSNames)
}

// Run probes through the probing use case.
func (o *ProbeOptions) Run(ctx context.Context) error {
	c := probing.Config{
		Source: o.source, Dests: o.dests, Questions: o.questions, QuestionsFrom: o.Queries,
		Ports: o.ports, DNSNames: o.DNSNames, HTTPPath: o.HTTPPath, HTTPStatus: o.HTTPStatus, AllPods: o.AllPods,
		Settings: o.settings(), DryRun: o.dryRun, Print: o.printing(), Now: time.Now,
	}
	if o.local {
		return probing.Run(ctx, c)
	}
	clients, err := o.Factory.Clients()
	if err != nil {
		return err
	}
	c.Load = func(ctx context.Context, namespaces []string) (*model.Model, error) {
		return read.LoadLive(ctx, clients, read.LiveOptions{Namespaces: namespaces})
	}
	c.Launcher = o.launcher(clients, o.ErrOut)
	c.DenyMode = func(ctx context.Context) probe.DenyMode { return o.denyMode(ctx, clients, o.ErrOut) }
	return probing.Run(ctx, c)
}

// printing is where probe writes its results.
func (o *ProbeOptions) printing() probing.Printing {
	return probing.Printing{Output: o.Output, NoHeaders: o.NoHeaders, JUnit: o.JUnit, Save: o.Save,
		PrintTable: kubeprint.Table, WriteFile: writeFile, Out: o.Out, ErrOut: o.ErrOut}
}

// writeFile writes a report file (--junit, --save) readable by others.
func writeFile(name string, data []byte) error { return os.WriteFile(name, data, 0o644) }
