package cmd

// The flag groups several commands share, and the checks of their values.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/doctor"
	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/input"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/output/kubeprint"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe/launch"
	"github.com/netbaseline/kubectl-netbaseline/internal/probing"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// baselineFlags choose where the policies come from; render, and later
// apply and diff, share them.
type baselineFlags struct {
	// Dir is the user's own tree (one folder per namespace).
	Dir string
	// NamespaceLabel overrides the Config's namespace selector key.
	NamespaceLabel string
	// AllowRemote lets kustomize fetch remote resources a --dir tree names.
	AllowRemote bool
}

func (f *baselineFlags) addFlags(c *cobra.Command, withDir bool) {
	if withDir {
		c.Flags().StringVar(&f.Dir, "dir", "", "Use your own kustomize tree (one folder per namespace, each with a kustomization) instead of the generated baseline")
		_ = c.MarkFlagDirname("dir")
		c.Flags().BoolVar(&f.AllowRemote, "allow-remote", false, "With --dir: let kustomize fetch the remote resources (URLs, git repositories) the tree names; refused otherwise")
	}
	c.Flags().StringVar(&f.NamespaceLabel, "namespace-label", "",
		"Label key namespace selectors match ("+config.MetadataNameLabel+" by default; \""+config.RunbookNameLabel+"\" for the runbook's name=<ns> convention)")
}

// source resolves the tree: --dir, else the Config (--config or
// $NETBASELINE_CONFIG) with flag overrides, else the embedded baseline.
func (f *baselineFlags) source(g *GlobalOptions) (*baseline.Source, error) {
	if dir := f.Dir; dir != "" {
		if g.ConfigFile != "" {
			return nil, usageErrorf("--dir and --config both say which policies to use; give one")
		}
		if f.NamespaceLabel != "" {
			return nil, usageErrorf("--namespace-label shapes the generated baseline and cannot change a --dir tree")
		}
		return baseline.DirSource(g.Inputs(), dir, f.AllowRemote)
	}
	cfg, explicit, err := g.LoadConfig()
	if err != nil {
		return nil, err
	}
	description := "the embedded baseline"
	if explicit {
		description = "the config"
	}
	if f.NamespaceLabel != "" && f.NamespaceLabel != cfg.NamespaceLabel {
		cfg.NamespaceLabel = f.NamespaceLabel
		if errs := cfg.Validate(); len(errs) > 0 {
			return nil, usageErrorf("--namespace-label: %v", errs.ToAggregate())
		}
		explicit = true
	}
	if !explicit {
		return baseline.EmbeddedSource()
	}
	return baseline.ConfigSource(cfg, description)
}

// completeOverlayNamespaces completes -n with the namespaces that have an
// overlay in the chosen tree.
func completeOverlayNamespaces(g *GlobalOptions, f *baselineFlags) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		src, err := f.source(g)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		return src.Namespaces(), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeConfigNamespaces completes -n with the config's app namespaces
// (the sample app's without a config).
func completeConfigNamespaces(g *GlobalOptions) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		cfg, _, err := g.LoadConfig()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var names []string
		for _, ns := range cfg.Namespaces {
			names = append(names, ns.Name)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// enforcerFlags say, offline, which enforcer the manifests will run
// under where the files cannot say it (explain, diff --flows).
type enforcerFlags struct{ Enforcer, CiliumVersion string }

func (f *enforcerFlags) addFlags(c *cobra.Command) {
	c.Flags().StringVar(&f.Enforcer, "enforcer", "", "With -f: cilium decides the Kubernetes NetworkPolicies as Cilium does (an ipBlock never selects pods) when the files hold no Cilium object to say so")
	c.Flags().StringVar(&f.CiliumVersion, "cilium-version", "", "With -f: the Cilium release (X.Y) whose semantics apply where releases differ (fromRequires)")
	_ = c.RegisterFlagCompletionFunc("enforcer", cobra.FixedCompletions([]string{"cilium"}, cobra.ShellCompDirectiveNoFileComp))
}

func (f *enforcerFlags) validate(offline bool) error {
	switch {
	case f.Enforcer != "" && f.Enforcer != "cilium":
		return usageErrorf("--enforcer %q: cilium is the one that changes what NetworkPolicies mean", f.Enforcer)
	case (f.Enforcer != "" || f.CiliumVersion != "") && !offline:
		return usageErrorf("--enforcer and --cilium-version describe manifests (-f); a cluster says what enforces it")
	}
	return nil
}

// apply records the enforcer in a model read from files.
func (f *enforcerFlags) apply(m *model.Model) {
	if f.Enforcer == "cilium" || f.CiliumVersion != "" {
		m.AssumeCilium("--enforcer=cilium", f.CiliumVersion)
	}
}

// probeSettings are how probes run; probe, apply --verify and
// report --probe share them.
type probeSettings struct {
	DenyMode    string
	Timeout     time.Duration
	WaitTimeout time.Duration
	Image       string
	PullPolicy  string
	Parallel    int
	Mode        string
	Keep        time.Duration
}

// addFlags registers the probe flags. The timeouts share one vocabulary
// across commands: --check-timeout (each check), --wait-timeout (each probe
// container), and for apply --settle-timeout and --restore-timeout.
// oldTimeout is the flag name of an earlier release ("timeout" for probe,
// "probe-timeout" for apply and report), kept as a deprecated alias.
func (s *probeSettings) addFlags(c *cobra.Command, oldTimeout string) {
	f := c.Flags()
	f.StringVar(&s.DenyMode, "deny-mode", "auto", "How the enforcer ends denied packets: drop, reject, or auto (reject if kube-router runs in kube-system, else drop)")
	f.DurationVar(&s.Timeout, "check-timeout", 3*time.Second, "Timeout of each probe check")
	deprecatedAlias(c, oldTimeout, "check-timeout")
	f.DurationVar(&s.WaitTimeout, "wait-timeout", 90*time.Second, "How long to wait for each probe container, start included")
	f.StringVar(&s.Image, "image", "", "Probe agent image (default $NETBASELINE_PROBE_IMAGE, the config's probe.image, else the image published with this release: "+probing.ImageHelp()+")")
	s.PullPolicy = string(corev1.PullIfNotPresent)
	addPullPolicyFlag(c, &s.PullPolicy)
	f.IntVar(&s.Parallel, "parallel", 5, "Source pods probed at once")
	f.DurationVar(&s.Keep, "keep", 0, "Keep each new probe container for this long (at most 1h) and run later probes of the same pod in it through pods/exec instead of adding another ephemeral container (needs create on pods/exec)")
	f.StringVar(&s.Mode, "mode", probe.ModeEphemeral, "ephemeral (a container added to each source pod) or pod (a short-lived pod with the source's labels, deleted afterwards; for clusters that block ephemeral containers)")
	_ = c.RegisterFlagCompletionFunc("deny-mode", cobra.FixedCompletions([]string{"auto", "drop", "reject"}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("mode", cobra.FixedCompletions([]string{probe.ModeEphemeral, probe.ModePod}, cobra.ShellCompDirectiveNoFileComp))
}

// Upper bounds of the wait flags: every wait of a run ends, and a typo
// (--settle-timeout 20h) is refused rather than holding a lease for a day.
const (
	maxCheckTimeout   = time.Minute
	maxWaitTimeout    = 15 * time.Minute
	maxSettleTimeout  = 10 * time.Minute
	maxRestoreTimeout = 30 * time.Minute
)

// boundedWait refuses a wait flag that is not positive or above its bound.
func boundedWait(flag string, d, limit time.Duration) error {
	if d <= 0 || d > limit {
		return usageErrorf("--%s %s: must be positive and at most %s", flag, d, limit)
	}
	return nil
}

// complete fills the image from the environment or the config.
func (s *probeSettings) complete(g *GlobalOptions) {
	if s.Image == "" {
		configured := ""
		if cfg, _, err := g.LoadConfig(); err == nil {
			configured = cfg.Probe.Image
		}
		s.Image = probing.Image(configured)
	}
}

func (s *probeSettings) validate() error {
	if s.Mode != probe.ModeEphemeral && s.Mode != probe.ModePod {
		return usageErrorf("--mode %q: use ephemeral or pod", s.Mode)
	}
	switch s.DenyMode {
	case "auto", "drop", "reject":
	default:
		return usageErrorf("--deny-mode %q: use auto, drop or reject", s.DenyMode)
	}
	if err := validatePullPolicy(s.PullPolicy); err != nil {
		return err
	}
	if s.Timeout <= 0 || s.WaitTimeout <= s.Timeout || s.Parallel < 1 {
		return usageErrorf("--check-timeout must be positive, --wait-timeout longer than it, --parallel at least 1")
	}
	if err := boundedWait("check-timeout", s.Timeout, maxCheckTimeout); err != nil {
		return err
	}
	return boundedWait("wait-timeout", s.WaitTimeout, maxWaitTimeout)
}

// denyMode is --deny-mode, or what doctor detects: drop unless the one
// engine found rejects (kube-router).
func (s *probeSettings) denyMode(ctx context.Context, c read.Clients, log io.Writer) probe.DenyMode {
	if s.DenyMode != "auto" {
		return probe.DenyMode(s.DenyMode)
	}
	snap, err := read.Engines(ctx, c)
	if err == nil {
		if why, unreadable := snap.Unreadable["daemonsets"]; unreadable {
			err = errors.New(why)
		}
	}
	if err != nil {
		fmt.Fprintf(log, "Warning: cannot detect the enforcer (%v); assuming denied packets are dropped (set --deny-mode)\n", err)
		return probe.Drop
	}
	engines, _ := doctor.CheckEngines(snap)
	return doctor.DenyMode(s.DenyMode, engines)
}

// settings are the use case's view of the probe flags.
func (s *probeSettings) settings() probing.Settings {
	return probing.Settings{Image: s.Image, PullPolicy: s.PullPolicy, Mode: s.Mode, Parallel: s.Parallel, CheckTimeout: s.Timeout}
}

// launcher runs plans in the cluster as the flags say.
func (s *probeSettings) launcher(c read.Clients, log io.Writer) *launch.Runner {
	runner := &launch.Runner{Client: c.Kube, Image: s.Image, PullPolicy: corev1.PullPolicy(s.PullPolicy), Wait: s.WaitTimeout, Mode: s.Mode, Log: log,
		Progress: output.NewProgressLine(log, isTerminal(log), "source pods")}
	if s.Keep > 0 && c.Config != nil {
		runner.Keep, runner.Exec = s.Keep, launch.RemoteExec(c.Config, c.Kube)
	}
	return runner
}

// runPlans runs every source's plan, Parallel at once.
func (s *probeSettings) runPlans(ctx context.Context, c read.Clients, plans []probe.SourcePlan, mode probe.DenyMode, log io.Writer) []probe.Observation {
	return s.launcher(c, log).RunPlans(ctx, plans, mode, s.Parallel, s.Timeout)
}

// isTerminal reports whether w is a terminal (progress then rewrites one
// line; in logs it prints plain lines).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// addOutputFlag registers -o with the formats the command prints.
func addOutputFlag(c *cobra.Command, target *string, docs ...output.Document) {
	formats := output.FormatNames(docs...)
	c.Flags().StringVarP(target, "output", "o", *target, "Output format: "+strings.Join(formats, "|"))
	_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

// validateOutput checks -o for the document the run prints (one of the
// command's docs), and its custom columns or template, before any API
// call.
func validateOutput(format string, doc output.Document, docs ...output.Document) error {
	if err := output.CheckFormat(format, doc, docs...); err != nil {
		return usageErrorf("%v", err)
	}
	if err := output.CheckTemplate(format); err != nil {
		return usageErrorf("-o %s: %v", strings.SplitN(format, "=", 2)[0], err)
	}
	return kubeprint.CheckCustomColumns(format)
}

// inlineTemplateFile reads the file of -o jsonpath-file=F or
// go-template-file=F through the run's bounded input and hands its text
// on inline (jsonpath=TEXT, go-template=TEXT).
func inlineTemplateFile(in *input.Reader, format *string) error {
	inline, path, ok := output.TemplateFile(*format)
	if !ok {
		return nil
	}
	flag := "-o " + *format
	if path == "-" {
		return usageErrorf("%s: a template is read from a file; stdin is for manifests and questions", flag)
	}
	text, err := in.Text(path)
	if err != nil {
		return usageErrorf("%s: %v", flag, err)
	}
	if strings.TrimSpace(string(text)) == "" {
		return usageErrorf("%s: the file is empty", flag)
	}
	if err := output.CheckTemplate(inline + string(text)); err != nil {
		return usageErrorf("%s: %v", flag, err)
	}
	*format = inline + string(text)
	return nil
}

// addPullPolicyFlag registers --image-pull-policy.
func addPullPolicyFlag(c *cobra.Command, target *string) {
	c.Flags().StringVar(target, "image-pull-policy", *target, "Always, IfNotPresent or Never")
}

func validatePullPolicy(p string) error {
	switch corev1.PullPolicy(p) {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
		return nil
	}
	return usageErrorf("--image-pull-policy %q: use Always, IfNotPresent or Never", p)
}

func addDryRunFlag(c *cobra.Command, target *string) {
	c.Flags().StringVar(target, "dry-run", "none", `Must be "none", "server", or "client": server sends every request as a dry run, client sends none`)
	c.Flags().Lookup("dry-run").NoOptDefVal = dryRunUnchanged
	_ = c.RegisterFlagCompletionFunc("dry-run", cobra.FixedCompletions([]string{"none", "server", "client"}, cobra.ShellCompDirectiveNoFileComp))
}

// dryRunUnchanged is a bare --dry-run, which kubectl still reads as
// client with a deprecation warning.
const dryRunUnchanged = "unchanged"

func parseDryRun(s string, errOut io.Writer) (apply.DryRun, error) {
	if s == dryRunUnchanged {
		fmt.Fprintln(errOut, "Warning: --dry-run is deprecated and can be replaced with --dry-run=client.")
		return apply.DryRunClient, nil
	}
	d, err := apply.ParseDryRun(s)
	if err != nil {
		return "", usageErrorf("%v", err)
	}
	return d, nil
}

// parsePortFlags reads repeated --port PORT[/PROTO] values (TCP default).
func parsePortFlags(values []string) ([]policy.PortSpec, error) {
	var out []policy.PortSpec
	for _, v := range values {
		port, proto, err := endpoint.ParsePortFlag(v)
		if err != nil {
			return nil, usageErrorf("--port %s: %v", v, err)
		}
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		out = append(out, policy.PortSpec{Port: port, Protocol: proto})
	}
	return out, nil
}

// completePrintFormats completes -o with the formats cli-runtime's
// printers accept (yaml, json, name, jsonpath=, go-template=, …).
func completePrintFormats(c *cobra.Command, f *genericclioptions.PrintFlags) {
	_ = c.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return f.AllowedFormats(), cobra.ShellCompDirectiveNoFileComp
	})
}

// completeKubeconfigNames completes --context, --cluster and --user from
// the kubeconfig, as kubectl does.
func completeKubeconfigNames(root *cobra.Command, g *GlobalOptions) {
	names := func(pick func(raw clientcmdapi.Config) []string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			raw, err := g.ConfigFlags.ToRawKubeConfigLoader().RawConfig()
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			out := pick(raw)
			sort.Strings(out)
			return out, cobra.ShellCompDirectiveNoFileComp
		}
	}
	_ = root.RegisterFlagCompletionFunc("context", names(func(raw clientcmdapi.Config) []string { return slices.Collect(maps.Keys(raw.Contexts)) }))
	_ = root.RegisterFlagCompletionFunc("cluster", names(func(raw clientcmdapi.Config) []string { return slices.Collect(maps.Keys(raw.Clusters)) }))
	_ = root.RegisterFlagCompletionFunc("user", names(func(raw clientcmdapi.Config) []string { return slices.Collect(maps.Keys(raw.AuthInfos)) }))
}

// deprecatedAlias registers old as another name of the flag current (same
// value), hidden from help and warned about when used, for one release.
func deprecatedAlias(c *cobra.Command, old, current string) {
	f := c.Flags().Lookup(current)
	alias := *f
	alias.Name, alias.Shorthand = old, ""
	alias.Usage = "deprecated: use --" + current
	alias.Hidden = true
	alias.Annotations = map[string][]string{deprecatedFor: {current}}
	c.Flags().AddFlag(&alias)
}

// deprecatedFor marks an alias flag with the name that replaces it.
const deprecatedFor = "netbaseline.io/deprecated-for"

// warnDeprecated says, on stderr, which deprecated names a command line used.
func warnDeprecated(c *cobra.Command) {
	c.Flags().Visit(func(f *pflag.Flag) {
		if current := f.Annotations[deprecatedFor]; len(current) == 1 {
			fmt.Fprintf(c.ErrOrStderr(), "Flag --%s has been deprecated, use --%s instead\n", f.Name, current[0])
		}
	})
}
