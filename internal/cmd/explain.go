package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/queries"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

var explainLong = templates.LongDesc(`
	Explain why traffic from SOURCE to DEST is allowed or denied by NetworkPolicy,
	naming the policy, rule, peer and port that allowed it, the policies that
	isolate each side, and near misses (a rule open on the Service port instead of
	the pod port, a namespace label that is missing, a named port the pod does not
	declare, ...).

	SOURCE and DEST: NS (one pod per group, or every pod with --all-pods), NS/POD,
	NS/KIND/NAME (deploy, sts, ds, rs, job, cronjob, svc), an IP or CIDR
	(IPv6 in brackets). DEST may end in :PORT and /PROTO (tcp, udp, sctp). For a
	Service, PORT is the Service port and is translated to each pod's targetPort.
	Without a port, every port the destination pods declare is evaluated.

	Live by default (namespaces, pods, services and policies are listed once);
	offline with -f on manifests (multi-document YAML, Lists, kustomize build or
	helm template output; workloads stand for their pods).

	AdminNetworkPolicy, BaselineAdminNetworkPolicy and ClusterNetworkPolicy are
	decided in tier order (admin, NetworkPolicy, baseline); each side names the
	tier and rule that decided it.

	Verdicts: allowed, denied, or unspecified when the answer cannot be known
	(host network pods, other policy layers such as Cilium or Calico, policies
	that could not be read, cluster-scoped policies whose order the API leaves
	open). Exit status 3 when --expect is not met.`)

var explainExample = templates.Examples(`
	# Why can (or can't) the frontend reach the backend on 3001?
	kubectl netbaseline explain frontend-dev backend-dev:3001

	# Through the Service port: 80 is translated to the pods' targetPort
	kubectl netbaseline explain frontend-dev backend-dev/svc/backend:80

	# DNS from a pod, both protocols
	kubectl netbaseline explain frontend-dev/frontend-7c9d kube-system/svc/kube-dns --port 53/udp --port 53/tcp

	# Offline, on rendered manifests; fail a CI job unless the flow is denied
	kubectl netbaseline explain -f manifests/ monitoring backend-dev:3001 --expect denied

	# With the platform's cluster-wide guardrails (AdminNetworkPolicy & co.)
	kubectl netbaseline explain -f manifests/ -f guardrails.yaml frontend-dev kube-system/svc/kube-dns:53/udp

	# Every group of two namespaces against each other, as a Mermaid graph
	kubectl netbaseline explain --matrix frontend-dev backend-dev -o mermaid

	# The whole cluster as an interactive page (namespaces, then groups, then
	# the explanation of a cell), one file that opens offline
	kubectl netbaseline explain --matrix -A -o html > matrix.html

	# Who, in any namespace, can reach the backend (one column per group)
	kubectl netbaseline explain --matrix --to backend-dev/deploy/backend --only allowed`)

// ExplainOptions holds the state of `explain`.
type ExplainOptions struct {
	*GlobalOptions

	Filenames     []string
	Ports         []string
	AllPods       bool
	Matrix        bool
	Staged        bool
	AllNamespaces bool
	Expect        string
	Output        string
	NoHeaders     bool
	Queries       string
	Only          string
	GroupBy       string
	// Sources and Destinations focus a matrix (--from, --to).
	Sources      []string
	Destinations []string

	// groupBySet: --group-by was given, so a large graph is not aggregated.
	groupBySet bool
	args       []string
	from       endpoint.Endpoint
	to         endpoint.Endpoint
	ports      []policy.PortSpec
	questions  []queries.Question
	// fromFocus and toFocus are the parsed --from and --to.
	fromFocus, toFocus []endpoint.Endpoint
	genericiooptions.IOStreams
}

// explainDocuments are what explain prints: see document.
var explainDocuments = []output.Document{output.Verdicts, output.Queries, output.Matrix, output.Flows}

// NewExplainOptions returns the defaults of `explain`.
func NewExplainOptions(g *GlobalOptions, streams genericiooptions.IOStreams) *ExplainOptions {
	return &ExplainOptions{GlobalOptions: g, IOStreams: streams}
}

// NewCmdExplain builds `explain`.
func NewCmdExplain(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewExplainOptions(g, streams)
	c := &cobra.Command{
		Use:               "explain SOURCE DEST[:PORT][/PROTO] | --matrix [NAMESPACE...]",
		Short:             "Explain why traffic between two endpoints is allowed or denied",
		Long:              explainLong,
		Example:           explainExample,
		RunE:              runCommand(o),
		ValidArgsFunction: completeEndpoints(g),
	}
	o.AddFlags(c)
	return c
}

// AddFlags registers explain's flags.
func (o *ExplainOptions) AddFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringArrayVarP(&o.Filenames, "filename", "f", nil, "Manifests to read instead of the cluster: file, directory or - for stdin (repeatable)")
	f.StringArrayVar(&o.Ports, "port", nil, "Destination port as PORT[/PROTO], a number or a name (repeatable); cannot be combined with DEST:PORT")
	f.BoolVar(&o.AllPods, "all-pods", false, "Evaluate every pod instead of one per group")
	f.BoolVar(&o.Matrix, "matrix", false, "Evaluate every group of the given namespaces against every group")
	f.BoolVar(&o.Staged, "staged", false, "Evaluate Calico's staged policies as if they were promoted (a preview)")
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "With --matrix: every namespace")
	f.StringVar(&o.Expect, "expect", "", "Exit 3 unless every verdict is this: allowed or denied")
	f.StringVar(&o.Only, "only", "", "Print only the verdicts that are allowed, denied or unspecified")
	f.StringVar(&o.GroupBy, "group-by", "", "With --matrix: labels (the default: one row per group of pods alike), pod (one row per pod), or workload|namespace (per workload or namespace pair and port: how many group pairs are allowed); graphs of more than 40 groups are drawn per namespace unless it is given")
	f.StringArrayVar(&o.Sources, "from", nil, "With --matrix: only the rows of these sources, NS, NS/POD or NS/KIND/NAME (repeatable); the destinations stay those of the namespaces given, all when none is")
	f.StringArrayVar(&o.Destinations, "to", nil, "With --matrix: only the columns of these destinations, NS, NS/POD, NS/KIND/NAME or NS/svc/NAME (repeatable); the sources stay those of the namespaces given, all when none is")
	_ = c.RegisterFlagCompletionFunc("from", completeEndpointFlag(o.GlobalOptions))
	_ = c.RegisterFlagCompletionFunc("to", completeEndpointFlag(o.GlobalOptions))
	_ = c.RegisterFlagCompletionFunc("only", cobra.FixedCompletions([]string{"allowed", "denied", "unspecified"}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("group-by", cobra.FixedCompletions([]string{"labels", "pod", "workload", "namespace"}, cobra.ShellCompDirectiveNoFileComp))
	f.StringVar(&o.Queries, "queries", "", "Answer the questions of this file (- for stdin), one JSON object per line: {\"from\": SOURCE, \"to\": DEST, \"port\": PORT, \"protocol\": PROTO, \"expect\": allowed|denied}; one verdict per line (-o jsonl), exit 3 if an expectation is not met")
	_ = c.MarkFlagFilename("queries", "jsonl", "json")
	addOutputFlag(c, &o.Output, explainDocuments...)
	f.BoolVar(&o.NoHeaders, "no-headers", false, "Print tables without their header line")
	_ = c.RegisterFlagCompletionFunc("expect", cobra.FixedCompletions([]string{"allowed", "denied"}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.MarkFlagFilename("filename", "yaml", "yml", "json")
}

// Complete parses the endpoints and ports.
func (o *ExplainOptions) Complete(args []string) error {
	o.args = args
	o.groupBySet = o.GroupBy != ""
	if o.GroupBy == "" {
		o.GroupBy = "labels"
	}
	ports, err := parsePortFlags(o.Ports)
	if err != nil {
		return err
	}
	o.ports = ports
	if err := inlineTemplateFile(o.Inputs(), &o.Output); err != nil {
		return err
	}
	if o.Output == "" { // a table for questions on the command line, JSON Lines for a file of them
		o.Output = "table"
		if o.Queries != "" {
			o.Output = "jsonl"
		}
	}
	if o.Queries != "" {
		return o.readQuestions()
	}
	if o.Matrix {
		return o.parseFocus()
	}
	if len(o.Sources) > 0 || len(o.Destinations) > 0 {
		return usageErrorf("--from and --to focus a --matrix; a single question takes SOURCE and DEST as arguments")
	}
	if len(args) != 2 {
		return usageErrorf("explain needs SOURCE and DEST (got %d argument(s)); see 'kubectl netbaseline explain --help'", len(args))
	}
	if o.from, err = endpoint.ParseIn(args[0], endpoint.Source, o.DefaultNamespace()); err != nil {
		return usageErrorf("SOURCE %v", err)
	}
	if o.from.Kind == endpoint.Local || o.from.Kind == endpoint.DNSName {
		return usageErrorf("SOURCE %q: explain needs pods or IP addresses", args[0])
	}
	if o.to, err = endpoint.ParseIn(args[1], endpoint.Destination, o.DefaultNamespace()); err != nil {
		return usageErrorf("DEST %v", err)
	}
	if o.to.Kind == endpoint.URL {
		return usageErrorf("DEST %q: a URL is for probe local", args[1])
	}
	if o.to.HasPort() {
		o.ports = append(o.ports, policy.PortSpec{Port: o.to.Port, Protocol: o.to.EffectiveProtocol()})
	}
	return nil
}

// Validate checks flag combinations.
func (o *ExplainOptions) Validate() error {
	if o.GroupBy != "labels" && o.GroupBy != "pod" && o.GroupBy != "workload" && o.GroupBy != "namespace" {
		return usageErrorf("--group-by %q: use labels, pod, workload or namespace", o.GroupBy)
	}
	if o.GroupBy != "labels" && !o.Matrix {
		return usageErrorf("--group-by %s groups a --matrix", o.GroupBy)
	}
	if err := validateOutput(o.Output, o.document(), explainDocuments...); err != nil {
		return err
	}
	switch o.Expect {
	case "", "allowed", "denied":
	default:
		return usageErrorf("--expect %q: use allowed or denied", o.Expect)
	}
	switch o.Only {
	case "", "allowed", "denied", "unspecified":
	default:
		return usageErrorf("--only %q: use allowed, denied or unspecified", o.Only)
	}
	if len(o.Ports) > 0 && o.to.HasPort() {
		return usageErrorf("give the port either as DEST:PORT or with --port, not both")
	}
	if o.Queries != "" {
		switch {
		case len(o.args) > 0 || o.Matrix:
			return usageErrorf("--queries holds the questions: no SOURCE/DEST arguments and no --matrix")
		case o.Expect != "" || len(o.Ports) > 0:
			return usageErrorf("with --queries, each line says its port and what it expects (\"port\", \"expect\"); --port and --expect do not apply")
		case o.Queries == "-" && contains(o.Filenames, "-"):
			return usageErrorf("--queries - and -f - cannot both read stdin")
		}
		return nil
	}
	if o.Matrix {
		if o.AllNamespaces && len(o.args) > 0 {
			return usageErrorf("--all-namespaces and namespace arguments cannot be combined")
		}
		return nil
	}
	if o.AllNamespaces {
		return usageErrorf("--all-namespaces (-A) is for --matrix")
	}
	return nil
}

// document is what the run prints: the verdicts of a question, of
// --queries, a matrix, or its namespace or workload view.
func (o *ExplainOptions) document() output.Document {
	switch {
	case o.Queries != "":
		return output.Queries
	case o.Matrix && (o.GroupBy == "namespace" || o.GroupBy == "workload"):
		return output.Flows
	case o.Matrix:
		return output.Matrix
	}
	return output.Verdicts
}

// Run reads the model once and answers.
func (o *ExplainOptions) Run(ctx context.Context) error {
	snapshot, engine, err := o.build(ctx)
	if err != nil {
		return err
	}
	for _, w := range snapshot.Warnings {
		fmt.Fprintf(o.ErrOut, "Warning: %s\n", w)
	}
	for _, p := range engine.Problems {
		fmt.Fprintf(o.ErrOut, "Warning: %s\n", p)
	}

	if o.Queries != "" {
		return o.answer(engine, snapshot)
	}
	var xs []policy.Explanation
	if o.Matrix {
		m, err := o.matrixGroups(engine, snapshot)
		if err != nil {
			return err
		}
		if n := m.distinct(); o.autoAggregate(n) {
			fmt.Fprintf(o.ErrOut, "%d groups of pods are more than a readable graph holds (%d): drawing one node per namespace (--group-by labels draws every group, --group-by workload one per workload)\n", n, graphGroupLimit)
			o.GroupBy = "namespace"
		}
		if o.GroupBy == "namespace" || o.GroupBy == "workload" {
			return o.namespaceMatrix(engine, m)
		}
		if o.Output == "grid" {
			return o.gridMatrix(engine, m)
		}
		if o.Output == "html" {
			return o.htmlMatrix(engine, m, snapshot.Warnings)
		}
		if output.WritesVerdicts(o.Output) {
			return o.streamMatrix(engine, m, snapshot.Warnings)
		}
		_ = engine.MatrixBetween(m.sources, m.destinations, o.ports, func(x policy.Explanation) error {
			xs = append(xs, x)
			return nil
		})
	} else {
		from, err := endpoint.Resolve(snapshot, o.from)
		if err != nil {
			return resolveError("SOURCE", err)
		}
		to, err := endpoint.Resolve(snapshot, o.to)
		if err != nil {
			return resolveError("DEST", err)
		}
		xs, err = engine.Explain(policy.Query{From: from, To: to, Ports: o.ports, AllPods: o.AllPods})
		if err != nil {
			var qe *policy.QueryError
			if errors.As(err, &qe) {
				return usageErrorf("%v", err)
			}
			return err
		}
	}
	if err := o.print(xs, snapshot.Warnings); err != nil {
		return err
	}
	return o.checkExpectation(xs)
}

// build reads the model and compiles the engine, with the collector tuned
// for that burst of short-lived allocations (roomyGC).
func (o *ExplainOptions) build(ctx context.Context) (*model.Model, *policy.Engine, error) {
	defer roomyGC()()
	snapshot, err := o.load(ctx)
	if err != nil {
		return nil, nil, err
	}
	if o.Staged {
		fmt.Fprintf(o.ErrOut, "Previewing %d staged Calico policies as if promoted\n", snapshot.StagedCount())
		snapshot = snapshot.WithStaged()
	}
	return snapshot, policy.New(snapshot), nil
}

func (o *ExplainOptions) load(ctx context.Context) (*model.Model, error) {
	if len(o.Filenames) > 0 {
		ns, _, _ := o.ConfigFlags.ToRawKubeConfigLoader().Namespace()
		if o.ConfigFlags.Namespace != nil && *o.ConfigFlags.Namespace != "" {
			ns = *o.ConfigFlags.Namespace
		}
		m, err := read.Load(o.Inputs(), o.Filenames, ns)
		if err != nil {
			return nil, &ExitError{Code: ExitUsage, Err: err}
		}
		return m, nil
	}
	clients, err := o.Factory.Clients()
	if err != nil {
		return nil, err
	}
	return read.LoadLive(ctx, clients, read.LiveOptions{Namespaces: o.questionNamespaces()})
}

// questionNamespaces are the namespaces to read one by one when
// cluster-wide lists are forbidden.
func (o *ExplainOptions) questionNamespaces() []string {
	if o.Queries != "" {
		return queries.Namespaces(o.questions)
	}
	if o.Matrix {
		if len(o.args) == 0 && o.ConfigFlags.Namespace != nil && *o.ConfigFlags.Namespace != "" {
			return []string{*o.ConfigFlags.Namespace}
		}
		return o.args
	}
	var out []string
	for _, ep := range []endpoint.Endpoint{o.from, o.to} {
		if ep.Namespace != "" {
			out = append(out, ep.Namespace)
		}
	}
	return dedupe(out)
}

// matrixPods are the pods a matrix is drawn between; pods that could not
// be listed make the matrix unknown (exit 1), never an empty or partial
// one that looks complete.
func (o *ExplainOptions) matrixPods(m *model.Model) ([]*model.Pod, error) {
	pods, scope, err := o.matrixScope(m)
	if err != nil {
		return nil, err
	}
	if missing := m.Refusals([]string{"pods"}, scope); len(missing) > 0 {
		return nil, &ExitError{Code: ExitFailed, Err: fmt.Errorf("the matrix is unknown: %s", strings.Join(missing, "; "))}
	}
	return pods, nil
}

// matrixScope is the matrix's pods and the namespaces they come from (nil
// for every namespace).
func (o *ExplainOptions) matrixScope(m *model.Model) ([]*model.Pod, []string, error) {
	namespaces := o.args
	if len(namespaces) == 0 && !o.AllNamespaces && len(o.fromFocus)+len(o.toFocus) > 0 {
		return m.Pods, nil, nil // a focused matrix looks at every namespace unless told
	}
	if len(namespaces) == 0 && !o.AllNamespaces {
		if o.ConfigFlags.Namespace != nil && *o.ConfigFlags.Namespace != "" {
			namespaces = []string{*o.ConfigFlags.Namespace}
		} else {
			return nil, nil, usageErrorf("--matrix needs namespaces: give them as arguments, with -n, or -A for all")
		}
	}
	if o.AllNamespaces {
		return m.Pods, nil, nil
	}
	var pods []*model.Pod
	for _, ns := range namespaces {
		if m.CouldNotRead("pods", ns) {
			continue // matrixPods says so
		}
		if _, err := endpoint.Resolve(m, endpoint.Endpoint{Kind: endpoint.Namespace, Namespace: ns, Raw: ns}); err != nil {
			return nil, nil, usageErrorf("%v", err)
		}
		pods = append(pods, m.PodsIn(ns)...)
	}
	return pods, namespaces, nil
}

func (o *ExplainOptions) print(xs []policy.Explanation, warnings []string) error {
	if o.Only != "" {
		kept := xs[:0:0]
		for _, x := range xs {
			if string(x.Verdict) == o.Only {
				kept = append(kept, x)
			}
		}
		xs = kept
	}
	if spec, ok := strings.CutPrefix(o.Output, "custom-columns="); ok {
		rows := make([]any, 0, len(xs))
		for _, x := range xs {
			rows = append(rows, x)
		}
		return printTable(o.Out, output.Table{Objects: rows}, output.TableOptions{CustomColumns: spec, NoHeaders: o.NoHeaders})
	}
	if output.WritesVerdicts(o.Output) {
		opts := output.StreamOptions{NoHeaders: o.NoHeaders, Warnings: warnings, OnlyAllowed: o.Matrix}
		for _, x := range xs {
			opts.Widths.Measure(x)
		}
		vw := output.NewVerdictWriter(o.Out, o.Output, opts)
		for _, x := range xs {
			if err := vw.Write(x); err != nil {
				return err
			}
		}
		return vw.Close()
	}
	return usageErrorf("-o %s: not an explain format", o.Output)
}

// checkExpectation turns --expect into exit status 3.
func (o *ExplainOptions) checkExpectation(xs []policy.Explanation) error {
	if o.Expect == "" {
		return nil
	}
	var unmet []string
	for _, x := range xs {
		if string(x.Verdict) != o.Expect {
			unmet = append(unmet, fmt.Sprintf("%s -> %s %s is %s", x.From, x.To, output.PortLabel(x), x.Verdict))
		}
	}
	if len(unmet) == 0 {
		return nil
	}
	return &ExitError{Code: ExitUnmet, Err: fmt.Errorf("expected %s, but %d of %d verdict(s) differ:\n  %s", o.Expect, len(unmet), len(xs), strings.Join(unmet, "\n  "))}
}
