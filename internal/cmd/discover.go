package cmd

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/netbaseline/kubectl-netbaseline/internal/cmd/flagutil"
	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/discovering"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe/launch"
	"github.com/netbaseline/kubectl-netbaseline/internal/probing"
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
	flagutil.AddOutputFlag(c, &o.Output, output.Discover)
	f.IntVar(&o.Parallel, "parallel", o.Parallel, "Pods observed at once (the rest start as earlier ones end)")
	f.StringVar(&o.Image, "image", "", "Probe agent image (default $NETBASELINE_PROBE_IMAGE, the config's probe.image, else the image published with this release: "+probing.ImageHelp()+")")
	flagutil.AddPullPolicyFlag(c, &o.PullPolicy)
	f.DurationVar(&o.WaitTimeout, "wait-timeout", o.WaitTimeout, "How long to wait for each observing container beyond --duration, start included")
	_ = c.MarkFlagFilename("merge", "yaml", "yml")
	_ = c.RegisterFlagCompletionFunc("namespace", completeClusterNamespaces(o.GlobalOptions))
}

// Complete reads the config and the --merge file (before any API call).
func (o *DiscoverOptions) Complete(_ []string) error {
	if err := flagutil.InlineTemplateFile(o.Inputs(), &o.Output); err != nil {
		return err
	}
	cfg, _, err := o.LoadConfig()
	if err != nil {
		return err
	}
	o.settings = cfg
	if o.Image == "" {
		o.Image = probing.Image(cfg.Probe.Image)
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
	case o.WaitTimeout <= 0 || o.WaitTimeout > flagutil.MaxWaitTimeout:
		return usageErrorf("--wait-timeout %s: must be positive and at most %s", o.WaitTimeout, flagutil.MaxWaitTimeout)
	}
	for _, ns := range o.Namespaces {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return usageErrorf("-n %q: %s", ns, strings.Join(errs, "; "))
		}
	}
	if err := flagutil.ValidateOutput(o.Output, output.Discover, output.Discover); err != nil {
		return err
	}
	if err := flagutil.ValidatePullPolicy(o.PullPolicy); err != nil {
		return err
	}
	return probing.RequireImage(o.Image)
}

// Run observes through the discovering use case.
func (o *DiscoverOptions) Run(ctx context.Context) error {
	clients, err := o.Factory.Clients()
	if err != nil {
		return err
	}
	return discovering.Run(ctx, discovering.Config{
		Namespaces: o.Namespaces, AllNamespaces: o.AllNamespaces, IncludePeers: o.IncludePeers,
		Window: o.Duration, Interval: o.Interval, ExternalPrefix: o.ExternalPrefix, Parallel: o.Parallel, Image: o.Image,
		Settings: o.settings, Base: o.base, Output: o.Output, Out: o.Out, ErrOut: o.ErrOut,
		Load: func(ctx context.Context, namespaces []string) (*model.Model, error) {
			return read.LoadLive(ctx, clients, read.LiveOptions{Namespaces: namespaces})
		},
		Nodes:     func(ctx context.Context) ([]*model.Node, error) { return read.Nodes(ctx, clients) },
		APIServer: func(ctx context.Context) ([]netip.AddrPort, error) { return read.APIServerEndpoints(ctx, clients) },
		Observer: &launch.Runner{Client: clients.Kube, Image: o.Image, PullPolicy: corev1.PullPolicy(o.PullPolicy), Wait: o.WaitTimeout,
			Log: o.ErrOut, Observing: true, Progress: output.NewProgressLine(o.ErrOut, flagutil.IsTerminal(o.ErrOut), "pods")},
	})
}
