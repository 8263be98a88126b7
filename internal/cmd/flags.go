package cmd

// The flag groups several commands share, and the checks of their values.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/cmd/flagutil"
	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/doctor"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
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

// modelFlags read the model from manifests (-f) or from the cluster, as
// explain and audit do.
type modelFlags struct {
	Filenames []string
	enforcerFlags
}

func (f *modelFlags) addFlags(c *cobra.Command) {
	c.Flags().StringArrayVarP(&f.Filenames, "filename", "f", nil, "Manifests to read instead of the cluster: file, directory or - for stdin (repeatable)")
	_ = c.MarkFlagFilename("filename", "yaml", "yml", "json")
	f.enforcerFlags.addFlags(c)
}

// load reads the manifests (objects without a namespace in -n's, else the
// kubeconfig's), or lists the cluster once (namespace by namespace, these
// namespaces, when cluster-wide lists are forbidden).
func (f *modelFlags) load(ctx context.Context, g *GlobalOptions, live read.LiveOptions) (*model.Model, error) {
	if len(f.Filenames) > 0 {
		ns, _, _ := g.ConfigFlags.ToRawKubeConfigLoader().Namespace()
		if current := g.currentNamespace(); current != "" {
			ns = current
		}
		m, err := read.Load(g.Inputs(), f.Filenames, ns)
		if err != nil {
			return nil, &ExitError{Code: ExitUsage, Err: err}
		}
		f.enforcerFlags.apply(m)
		return m, nil
	}
	clients, err := g.Factory.Clients()
	if err != nil {
		return nil, err
	}
	return read.LoadLive(ctx, clients, live)
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
	flagutil.DeprecatedAlias(c, oldTimeout, "check-timeout")
	f.DurationVar(&s.WaitTimeout, "wait-timeout", 90*time.Second, "How long to wait for each probe container, start included")
	f.StringVar(&s.Image, "image", "", "Probe agent image (default $NETBASELINE_PROBE_IMAGE, the config's probe.image, else the image published with this release: "+probing.ImageHelp()+")")
	s.PullPolicy = string(corev1.PullIfNotPresent)
	flagutil.AddPullPolicyFlag(c, &s.PullPolicy)
	f.IntVar(&s.Parallel, "parallel", 5, "Source pods probed at once")
	f.DurationVar(&s.Keep, "keep", 0, "Keep each new probe container for this long (at most 1h) and run later probes of the same pod in it through pods/exec instead of adding another ephemeral container (needs create on pods/exec)")
	f.StringVar(&s.Mode, "mode", probe.ModeEphemeral, "ephemeral (a container added to each source pod) or pod (a short-lived pod with the source's labels, deleted afterwards; for clusters that block ephemeral containers)")
	_ = c.RegisterFlagCompletionFunc("deny-mode", cobra.FixedCompletions([]string{"auto", "drop", "reject"}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("mode", cobra.FixedCompletions([]string{probe.ModeEphemeral, probe.ModePod}, cobra.ShellCompDirectiveNoFileComp))
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
	if err := flagutil.ValidatePullPolicy(s.PullPolicy); err != nil {
		return err
	}
	if s.Timeout <= 0 || s.WaitTimeout <= s.Timeout || s.Parallel < 1 {
		return usageErrorf("--check-timeout must be positive, --wait-timeout longer than it, --parallel at least 1")
	}
	if err := flagutil.BoundedWait("check-timeout", s.Timeout, flagutil.MaxCheckTimeout); err != nil {
		return err
	}
	return flagutil.BoundedWait("wait-timeout", s.WaitTimeout, flagutil.MaxWaitTimeout)
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
		Progress: output.NewProgressLine(log, flagutil.IsTerminal(log), "source pods")}
	if s.Keep > 0 && c.Config != nil {
		runner.Keep, runner.Exec = s.Keep, launch.RemoteExec(c.Config, c.Kube)
	}
	return runner
}

// runPlans runs every source's plan, Parallel at once.
func (s *probeSettings) runPlans(ctx context.Context, c read.Clients, plans []probe.SourcePlan, mode probe.DenyMode, log io.Writer) []probe.Observation {
	return s.launcher(c, log).RunPlans(ctx, plans, mode, s.Parallel, s.Timeout)
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
