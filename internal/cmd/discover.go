package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/discover"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe/launch"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

var discoverLong = templates.LongDesc(`
	Write the Config of your apps from the traffic they really make, with nothing
	installed in the cluster.

	Each running pod of the namespaces gets ONE ephemeral container (the probe
	agent, under the same restricted security profile as probe's) that reads the
	pod's own socket tables (/proc/net/tcp, tcp6, udp, udp6) every --interval for
	--duration, then ends by itself. It sees the ports the pod listens on and every
	connection in or out, including those closed within the last minute. The
	remote addresses are then resolved: pod IPs to their apps, Service ClusterIPs
	to the pods and ports behind them, node and API server addresses, and the rest
	to external CIDRs (--external-prefix).

	The result is a kind: Config on stdout — relations, the ingress controller's
	calls, monitoring's scrapes of the metrics port, external egress — with the
	evidence as comments, ready for render --config, diff --flows --config and
	apply --verify --config. Only what was observed is allowed: a call that did not
	happen during the window will be denied, so run it while the apps do their
	normal work (or widen --duration). On stderr: what the baseline will deny that
	was never observed, and what was observed that the policies in place deny.

	Ephemeral containers cannot be removed: each observed pod keeps one in its spec
	until it is replaced. Host-network pods are skipped (their socket table is the
	node's). Ctrl-C keeps what the containers reported so far; they end by their
	own deadline.`)

var discoverExample = templates.Examples(`
	# Observe two namespaces for two minutes and write their Config
	kubectl netbaseline discover -n frontend-dev -n backend-dev > config.yaml

	# Also observe the ingress controller's and monitoring's namespaces
	kubectl netbaseline discover -n frontend-dev -n backend-dev --include-peers --duration 5m > config.yaml

	# Then: what would the baseline cut, and apply it with proof
	kubectl netbaseline diff --flows --config config.yaml -n frontend-dev -n backend-dev
	kubectl netbaseline apply --verify --config config.yaml -n frontend-dev -n backend-dev

	# Extend an existing Config, keeping all its relations
	kubectl netbaseline discover -n payments --merge config.yaml > config.new.yaml`)

// DiscoverOptions holds the state of `discover`.
type DiscoverOptions struct {
	*GlobalOptions
	Namespaces     []string
	AllNamespaces  bool
	Duration       time.Duration
	Interval       time.Duration
	IncludePeers   bool
	ExternalPrefix int
	Merge          string
	Output         string
	Parallel       int
	Image          string
	PullPolicy     string
	WaitTimeout    time.Duration

	settings *config.Config // the cluster's settings: DNS, ingress controller, monitoring
	base     *config.Config // what the result extends
	genericiooptions.IOStreams
}

// NewDiscoverOptions returns the defaults of `discover`.
func NewDiscoverOptions(g *GlobalOptions, streams genericiooptions.IOStreams) *DiscoverOptions {
	return &DiscoverOptions{GlobalOptions: g, IOStreams: streams, Duration: 2 * time.Minute, Interval: 250 * time.Millisecond,
		ExternalPrefix: 32, Output: "yaml", Parallel: 50, WaitTimeout: 90 * time.Second, PullPolicy: string(corev1.PullIfNotPresent)}
}

// NewCmdDiscover builds `discover`.
func NewCmdDiscover(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewDiscoverOptions(g, streams)
	c := &cobra.Command{
		Use:     "discover -n NAMESPACE... | -A [--duration 2m] [--include-peers] [--merge FILE] [-o yaml|json]",
		Short:   "Write the Config of your apps from the connections their pods really make",
		Long:    discoverLong,
		Example: discoverExample,
		Args:    noArgs,
		RunE:    runCommand(o),
	}
	o.AddFlags(c)
	return c
}

// AddFlags registers discover's flags.
func (o *DiscoverOptions) AddFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringSliceVarP(&o.Namespaces, "namespace", "n", nil, "Namespaces to observe and give a baseline (repeatable)")
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Every namespace with pods, except kube-system, kube-public and kube-node-lease")
	f.DurationVar(&o.Duration, "duration", o.Duration, "How long each pod is observed (at most 1h)")
	f.DurationVar(&o.Interval, "interval", o.Interval, "How often the socket tables are read")
	f.BoolVar(&o.IncludePeers, "include-peers", false, "Also observe the ingress controller's and monitoring's namespaces (they get no baseline of their own)")
	f.IntVar(&o.ExternalPrefix, "external-prefix", o.ExternalPrefix, "Group external addresses into CIDRs of this length (32: each address; 24; 0 only if you mean everywhere)")
	f.StringVar(&o.Merge, "merge", "", "Extend this Config: its namespaces, apps and relations are kept, what was observed is added")
	addOutputFlag(c, &o.Output, output.Discover)
	f.IntVar(&o.Parallel, "parallel", o.Parallel, "Pods observed at once (the rest start as earlier ones end)")
	f.StringVar(&o.Image, "image", "", "Probe agent image (default $NETBASELINE_PROBE_IMAGE, the config's probe.image, else the image published with this release: "+probeImageHelp()+")")
	addPullPolicyFlag(c, &o.PullPolicy)
	f.DurationVar(&o.WaitTimeout, "wait-timeout", o.WaitTimeout, "How long to wait for each observing container beyond --duration, start included")
	_ = c.MarkFlagFilename("merge", "yaml", "yml")
}

// Complete reads the config and the --merge file (before any API call).
func (o *DiscoverOptions) Complete(_ []string) error {
	if err := inlineTemplateFile(o.Inputs(), &o.Output); err != nil {
		return err
	}
	cfg, _, err := o.LoadConfig()
	if err != nil {
		return err
	}
	o.settings = cfg
	if o.Image == "" {
		o.Image = probeImage(cfg.Probe.Image)
	}
	if o.Merge != "" {
		merged, err := config.Read(o.Inputs(), o.Merge)
		if err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--merge: %w", err)}
		}
		o.base, o.settings = merged, merged
		return nil
	}
	// Only the cluster's settings carry over: no namespace, no doctor expectations.
	o.base = &config.Config{TypeMeta: cfg.TypeMeta, NamespaceLabel: cfg.NamespaceLabel, DNS: cfg.DNS,
		IngressController: cfg.IngressController, Monitoring: cfg.Monitoring, APIServer: cfg.APIServer, CloudIdentity: cfg.CloudIdentity, Probe: cfg.Probe}
	return nil
}

// Validate checks flags.
func (o *DiscoverOptions) Validate() error {
	switch {
	case o.AllNamespaces && len(o.Namespaces) > 0:
		return usageErrorf("--all-namespaces (-A) and --namespace (-n) cannot be combined")
	case !o.AllNamespaces && len(o.Namespaces) == 0:
		return usageErrorf("name the namespaces to observe with -n (repeatable), or -A for all")
	case o.Duration <= 0 || o.Duration > time.Hour:
		return usageErrorf("--duration %s: between 1s and 1h", o.Duration)
	case o.Interval < 10*time.Millisecond || o.Interval > o.Duration:
		return usageErrorf("--interval %s: at least 10ms and at most --duration", o.Interval)
	case o.ExternalPrefix < 0 || o.ExternalPrefix > 32:
		return usageErrorf("--external-prefix %d: an IPv4 prefix length, 0 to 32", o.ExternalPrefix)
	case o.Parallel < 1:
		return usageErrorf("--parallel must be at least 1")
	case o.WaitTimeout <= 0 || o.WaitTimeout > maxWaitTimeout:
		return usageErrorf("--wait-timeout %s: must be positive and at most %s", o.WaitTimeout, maxWaitTimeout)
	}
	for _, ns := range o.Namespaces {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return usageErrorf("-n %q: %s", ns, strings.Join(errs, "; "))
		}
	}
	if err := validateOutput(o.Output, output.Discover, output.Discover); err != nil {
		return err
	}
	if err := validatePullPolicy(o.PullPolicy); err != nil {
		return err
	}
	return requireProbeImage(o.Image)
}

// Run observes, resolves and writes the Config.
func (o *DiscoverOptions) Run(ctx context.Context) error {
	clients, err := o.Factory.Clients()
	if err != nil {
		return err
	}
	snapshot, err := read.LoadLive(ctx, clients, read.LiveOptions{Namespaces: o.Namespaces})
	if err != nil {
		return err
	}
	for _, w := range snapshot.Warnings {
		fmt.Fprintf(o.ErrOut, "Warning: %s\n", w)
	}
	targets := o.targets(snapshot)
	if len(targets) == 0 {
		return &ExitError{Code: ExitFailed, Err: errors.New("no namespace with pods to observe")}
	}
	for _, ns := range targets {
		if snapshot.CouldNotRead("pods", ns) {
			return &ExitError{Code: ExitFailed, Err: &model.UnreadableError{Verb: "list", Resource: "pods", Namespace: ns}}
		}
	}
	if len(snapshot.Nodes) == 0 {
		nodes, err := read.Nodes(ctx, clients)
		if err != nil {
			fmt.Fprintf(o.ErrOut, "Warning: %v: node addresses are treated as external\n", err)
		}
		snapshot.Nodes = nodes
	}
	apiServer, err := read.APIServerEndpoints(ctx, clients)
	if err != nil {
		fmt.Fprintf(o.ErrOut, "Warning: %v: calls to the API server are recognised by its ClusterIP only, and apiServer.to stays empty\n", err)
	}

	pods := o.podsToObserve(snapshot, targets)
	if len(pods) == 0 {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("no running pod to observe in %s", strings.Join(targets, ", "))}
	}
	fmt.Fprintf(o.ErrOut, "Observing %d pod(s) for %s with %s. Each observed pod keeps an ephemeral container in its spec until it is replaced.\n", len(pods), o.Duration, o.Image)
	runner := &launch.Runner{Client: clients.Kube, Image: o.Image, PullPolicy: corev1.PullPolicy(o.PullPolicy), Wait: o.WaitTimeout,
		Log: o.ErrOut, Observing: true, Progress: output.NewProgressLine(o.ErrOut, isTerminal(o.ErrOut), "pods")}
	refs := make([][2]string, len(pods))
	for i, p := range pods {
		refs[i] = [2]string{p.Namespace, p.Name}
	}
	observed := runner.ObserveAll(ctx, refs, o.Parallel, o.Duration, o.Interval)

	reports := make([]discover.PodReport, len(observed))
	var failed []string
	partial := 0
	for i, ob := range observed {
		reports[i] = discover.PodReport{Pod: pods[i], Observation: ob.Observation}
		if ob.Err != nil {
			reports[i].Err = ob.Err.Error()
			failed = append(failed, ob.Err.Error())
			fmt.Fprintf(o.ErrOut, "error: %v\n", ob.Err)
		} else if ob.Observation.Partial {
			partial++
		}
	}
	if len(failed) == len(pods) {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("no pod could be observed (first error above: %s)", failed[0])}
	}
	if ctx.Err() != nil {
		fmt.Fprintf(o.ErrOut, "Interrupted: writing what was observed so far (%d pod(s) reported part of the window).\n", partial)
	}
	edges, notes := discover.Edges(reports, discover.NewResolver(snapshot, apiServer), o.settings)
	if !anythingObserved(edges) {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("nothing observed in %s: generate traffic or widen --duration", o.Duration)}
	}
	var observedPods []*model.Pod
	for _, r := range reports {
		if r.Observation != nil {
			observedPods = append(observedPods, r.Pod)
		}
	}
	res := discover.Build(o.base, edges, observedPods, apiServer, discover.Options{Namespaces: targets, ExternalPrefix: o.ExternalPrefix})

	var buf bytes.Buffer
	if err := discover.WriteConfig(&buf, res, discover.Header(targets, len(observedPods), o.Duration.String())); err != nil {
		return err
	}
	parsed, err := discover.ParseBack(buf.Bytes())
	if err != nil {
		return fmt.Errorf("the discovered Config does not read back (a bug; the raw result follows):\n%s\n%w", buf.String(), err)
	}
	coverage, err := o.coverage(snapshot, parsed, targets, edges)
	if err != nil {
		return err
	}
	o.summarize(len(observedPods), res, notes, coverage)
	if o.Output != "yaml" {
		return output.WriteDocument(o.Out, o.Output, discoveryDocument{APIVersion: config.APIVersion, Kind: "Discovery",
			Config: parsed, Edges: edges, Notes: notes, Coverage: coverage, Observations: observationsOf(reports)})
	}
	_, err = io.Copy(o.Out, &buf)
	return err
}

// targets are the namespaces that get a baseline: -n, or with -A every
// namespace with pods except the system ones.
func (o *DiscoverOptions) targets(m *model.Model) []string {
	if !o.AllNamespaces {
		return dedupe(o.Namespaces)
	}
	seen := map[string]bool{}
	for _, p := range m.Pods {
		if !systemNamespaces[p.Namespace] {
			seen[p.Namespace] = true
		}
	}
	out := make([]string, 0, len(seen))
	for ns := range seen {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}

// podsToObserve are the running pods of the targets (and of the peers'
// namespaces with --include-peers); host-network pods are skipped.
func (o *DiscoverOptions) podsToObserve(m *model.Model, targets []string) []*model.Pod {
	scope := map[string]bool{}
	for _, ns := range targets {
		scope[ns] = true
	}
	if o.IncludePeers {
		scope[o.settings.IngressController.Namespace] = true
		scope[o.settings.Monitoring.Namespace] = true
	}
	var out []*model.Pod
	for _, p := range m.Pods {
		switch {
		case !scope[p.Namespace]:
		case p.HostNetwork:
			fmt.Fprintf(o.ErrOut, "Skipping %s: it uses the host network, so its socket table is the node's\n", p.Key())
		case p.Phase != corev1.PodRunning:
			fmt.Fprintf(o.ErrOut, "Skipping %s: it is %s, not Running\n", p.Key(), phaseOrUnknown(p.Phase))
		case p.Terminating:
			fmt.Fprintf(o.ErrOut, "Skipping %s: it is being deleted\n", p.Key())
		default:
			out = append(out, p)
		}
	}
	return out
}

func phaseOrUnknown(p corev1.PodPhase) string {
	if p == "" {
		return "in no phase yet"
	}
	return string(p)
}

func anythingObserved(edges []*discover.Edge) bool {
	for _, e := range edges {
		if e.Connections > 0 || e.Attempts > 0 {
			return true
		}
	}
	return false
}

// coverage renders the discovered baseline and compares it with the
// observations and the policies in place.
func (o *DiscoverOptions) coverage(snapshot *model.Model, cfg *config.Config, targets []string, edges []*discover.Edge) (discover.Coverage, error) {
	src, err := baseline.ConfigSource(cfg, "the discovered config")
	if err != nil {
		return discover.Coverage{}, err
	}
	rendered, err := src.RenderAll(targets)
	if err != nil {
		return discover.Coverage{}, err
	}
	after, err := apply.Predict(snapshot, targets, rendered, apply.Options{})
	var conflict *apply.ConflictError
	if errors.As(err, &conflict) {
		// Coverage is of the baseline once applied: as apply would make
		// it with --force-conflicts, which it needs here.
		fmt.Fprintf(o.ErrOut, "Warning: applying this baseline needs --force-conflicts: %v\n", err)
		after, err = apply.Predict(snapshot, targets, rendered, apply.Options{ForceConflicts: true})
	}
	if err != nil {
		return discover.Coverage{}, err
	}
	focus := map[string]bool{}
	for _, ns := range targets {
		focus[ns] = true
	}
	return discover.CoverageOf(snapshot, after, edges, focus), nil
}

// summarize tells on stderr what was found and what the baseline changes.
func (o *DiscoverOptions) summarize(pods int, res *discover.Result, notes discover.Notes, cov discover.Coverage) {
	w := o.ErrOut
	fmt.Fprintf(w, "Observed %d pod(s): %d call(s) in the Config.\n", pods, len(res.Used))
	const shown = 10
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(w, "%s (%d):\n", title, len(items))
		for i, it := range items {
			if i == shown {
				fmt.Fprintf(w, "  … and %d more (-o json lists them all)\n", len(items)-shown)
				break
			}
			fmt.Fprintf(w, "  %s\n", it)
		}
	}
	var never, cut []string
	for _, c := range cov.NeverObserved {
		never = append(never, fmt.Sprintf("%s -> %s %d/%s", c.FromGroup, c.ToGroup, c.Port, c.Protocol))
	}
	for _, c := range cov.CutObserved {
		cut = append(cut, fmt.Sprintf("%s -> %s %d/%s", c.FromGroup, c.ToGroup, c.Port, c.Protocol))
	}
	list("Allowed now, never observed, denied by this baseline (what diff --flows --config will show as cut)", dedupe(never))
	list("Warning: observed, yet denied by this baseline (the Config cannot express them; add them by hand)", dedupe(cut))
	var denied []string
	for _, d := range cov.DeniedNow {
		denied = append(denied, d.Edge+" (denied now by "+strings.Join(d.By, ", ")+")")
	}
	list("Observed, but denied by the policies in place now", denied)
	list("Attempted, never answered (left out of the Config)", cov.Unanswered)
	list("Calls from outside the cluster (for ingressController.sourceCIDRs if they are your load balancers)", notes.InboundExternal)
	list("Calls to Services no pod answers on that port (left out)", notes.Unmapped)
	if notes.FromNodes > 0 {
		fmt.Fprintf(w, "Left out: %d connection(s) from node addresses (kubelet health checks, host-network clients, Service traffic kube-proxy masqueraded).\n", notes.FromNodes)
	}
}

// discoveryDocument is -o json.
type discoveryDocument struct {
	APIVersion   string              `json:"apiVersion"`
	Kind         string              `json:"kind"`
	Config       *config.Config      `json:"config"`
	Edges        []*discover.Edge    `json:"edges"`
	Notes        discover.Notes      `json:"notes"`
	Coverage     discover.Coverage   `json:"coverage"`
	Observations []podObservationDoc `json:"observations"`
}

type podObservationDoc struct {
	Pod         string                   `json:"pod"`
	Observation *probe.SocketObservation `json:"observation,omitempty"`
	Error       string                   `json:"error,omitempty"`
}

func observationsOf(reports []discover.PodReport) []podObservationDoc {
	out := make([]podObservationDoc, 0, len(reports))
	for _, r := range reports {
		out = append(out, podObservationDoc{Pod: r.Pod.Key(), Observation: r.Observation, Error: r.Err})
	}
	return out
}
