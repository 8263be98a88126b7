package cmd

import (
	"context"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/netbaseline/kubectl-netbaseline/internal/cmd/flagutil"
	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/explain"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/output/kubeprint"
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

	Calico's, the EKS agent's and Cilium's own policies are decided as their
	enforcers decide them (Cilium at L3/L4: an L7 rule allows the connection
	and says its requests are filtered). Offline, --enforcer cilium reads
	NetworkPolicies as Cilium enforces them when the files cannot say so.

	Verdicts: allowed, denied, or unspecified when the answer cannot be known
	(host network pods, a DNS name or an FQDN rule, policies that could not be
	read, cluster-scoped policies whose order the API leaves open). Exit status
	3 when --expect is not met.`)

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

	modelFlags
	Ports         []string
	AllPods       bool
	Matrix        bool
	Staged        bool
	AllNamespaces bool
	Expect        string
	Output        string
	NoHeaders     bool
	Quiet         bool
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
	o.modelFlags.addFlags(c)
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
	flagutil.AddOutputFlag(c, &o.Output, explainDocuments...)
	f.BoolVar(&o.NoHeaders, "no-headers", false, "Print tables without their header line")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "Say nothing on stderr about a long matrix's progress")
	_ = c.RegisterFlagCompletionFunc("expect", cobra.FixedCompletions([]string{"allowed", "denied"}, cobra.ShellCompDirectiveNoFileComp))
}

// Complete parses the endpoints and ports.
func (o *ExplainOptions) Complete(args []string) error {
	o.args = args
	o.groupBySet = o.GroupBy != ""
	if o.GroupBy == "" {
		o.GroupBy = "labels"
	}
	ports, err := flagutil.ParsePortFlags(o.Ports)
	if err != nil {
		return err
	}
	o.ports = ports
	if err := flagutil.InlineTemplateFile(o.Inputs(), &o.Output); err != nil {
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
		if o.fromFocus, err = explain.ParseFocus("--from", o.Sources, endpoint.Source, o.DefaultNamespace()); err != nil {
			return err
		}
		o.toFocus, err = explain.ParseFocus("--to", o.Destinations, endpoint.Destination, o.DefaultNamespace())
		return err
	}
	if len(o.Sources) > 0 || len(o.Destinations) > 0 {
		return usageErrorf("--from and --to focus a --matrix; a single question takes SOURCE and DEST as arguments")
	}
	if len(args) != 2 {
		return usageErrorf("explain needs SOURCE and DEST (got %d argument(s)); see 'kubectl netbaseline explain --help'", len(args))
	}
	if o.from, o.to, err = explain.ParseQuestion(args[0], args[1], o.DefaultNamespace()); err != nil {
		return err
	}
	if o.to.HasPort() {
		o.ports = append(o.ports, policy.PortSpec{Port: o.to.Port, Protocol: o.to.EffectiveProtocol()})
	}
	return nil
}

// Validate checks flag combinations.
func (o *ExplainOptions) Validate() error {
	if err := o.enforcerFlags.validate(len(o.Filenames) > 0); err != nil {
		return err
	}
	if o.GroupBy != "labels" && o.GroupBy != "pod" && o.GroupBy != "workload" && o.GroupBy != "namespace" {
		return usageErrorf("--group-by %q: use labels, pod, workload or namespace", o.GroupBy)
	}
	if o.GroupBy != "labels" && !o.Matrix {
		return usageErrorf("--group-by %s groups a --matrix", o.GroupBy)
	}
	if err := flagutil.ValidateOutput(o.Output, o.document(), explainDocuments...); err != nil {
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

// Run answers through the explain use case.
func (o *ExplainOptions) Run(ctx context.Context) error {
	return explain.Run(ctx, o.config())
}

// config is the use case's Config for these flags.
func (o *ExplainOptions) config() explain.Config {
	c := explain.Config{
		From: o.from, To: o.to, Ports: o.ports, AllPods: o.AllPods,
		Staged: o.Staged, Only: o.Only, Expect: o.Expect, Output: o.Output, NoHeaders: o.NoHeaders,
		PrintTable: kubeprint.Table, Out: o.Out, ErrOut: o.ErrOut,
	}
	if o.Queries != "" {
		c.Questions, c.QuestionsFrom = o.questions, o.Queries
	}
	if !o.Quiet {
		c.Progress = &explain.Progress{W: o.ErrOut, Terminal: flagutil.IsTerminal(o.ErrOut)}
	}
	if o.Matrix {
		c.Matrix = &explain.Matrix{Namespaces: o.args, AllNamespaces: o.AllNamespaces, CurrentNamespace: o.currentNamespace(),
			From: o.fromFocus, To: o.toFocus, GroupBy: o.GroupBy, GroupBySet: o.groupBySet}
	}
	c.Load = func(ctx context.Context) (*model.Model, error) {
		return o.load(ctx, o.GlobalOptions, read.LiveOptions{Namespaces: c.ReadNamespaces()})
	}
	return c
}
