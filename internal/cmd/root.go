// Package cmd wires the kubectl netbaseline commands: one file per
// subcommand, each with Options{AddFlags, Complete, Validate, Run}.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/netbaseline/kubectl-netbaseline/internal/cmd/flagutil"
	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/input"
	"github.com/netbaseline/kubectl-netbaseline/internal/profiling"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// GlobalOptions are the root's persistent flags: every kubectl global flag
// from cli-runtime, plus --config.
type GlobalOptions struct {
	ConfigFlags *genericclioptions.ConfigFlags
	ConfigFile  string
	// MaxInputSize bounds everything one run reads from files and stdin.
	MaxInputSize string
	// Factory gives cluster clients; built from ConfigFlags unless a test
	// sets it.
	Factory Factory

	profiling profiling.Profile
	stdin     io.Reader
	inputs    *input.Reader
	config    *loadedConfig
}

type loadedConfig struct {
	cfg      *config.Config
	explicit bool
	err      error
}

// Inputs is the run's one reader of files and stdin, bounded by
// --max-input-size (checked before any command runs).
func (g *GlobalOptions) Inputs() *input.Reader {
	if g.inputs == nil {
		limit, _ := input.ParseLimit(g.MaxInputSize)
		g.inputs = input.NewReader(g.stdin, limit)
	}
	return g.inputs
}

// LoadConfig returns the Config from --config, $NETBASELINE_CONFIG or the
// runbook's defaults; explicit reports whether a file was read. The file
// is read once per run.
func (g *GlobalOptions) LoadConfig() (cfg *config.Config, explicit bool, err error) {
	if g.config == nil {
		cfg, explicit, err := config.Resolve(g.Inputs(), g.ConfigFile)
		g.config = &loadedConfig{cfg: cfg, explicit: explicit, err: err}
	}
	if g.config.cfg != nil {
		// Callers may adjust their copy (--namespace-label).
		copied := *g.config.cfg
		return &copied, g.config.explicit, nil
	}
	return nil, g.config.explicit, g.config.err
}

// currentNamespace is -n when given.
func (g *GlobalOptions) currentNamespace() string {
	if g.ConfigFlags.Namespace != nil {
		return *g.ConfigFlags.Namespace
	}
	return ""
}

// DefaultNamespace is the namespace of the current kubeconfig context, as
// kubectl picks it; "default" when there is no kubeconfig.
func (g *GlobalOptions) DefaultNamespace() string {
	ns, _, err := g.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil || ns == "" {
		return "default"
	}
	return ns
}

var rootLong = templates.LongDesc(`
	Give Kubernetes namespaces a least-privilege NetworkPolicy baseline and prove it works.

	The baseline is a kustomize overlay per namespace: deny-all, allow-dns, the app's
	own relations (allow-from-<app>, allow-to-<app>), allow-from-ingress,
	allow-from-monitoring and, when configured, allow-egress-external. It is embedded
	for the runbook's sample app (frontend-dev, backend-dev) and generated from
	--config for yours.`)

var rootExample = templates.Examples(`
	# Print the baseline of a namespace (no cluster needed)
	kubectl netbaseline render -n backend-dev

	# Write the overlays out as a GitOps tree
	kubectl netbaseline init --dir infra/manifests/network-policies`)

// Execute runs the command line args (without the program name) and
// writes a --profile when the command ends, whatever its outcome.
func Execute(ctx context.Context, streams genericiooptions.IOStreams, args []string) error {
	g := &GlobalOptions{ConfigFlags: genericclioptions.NewConfigFlags(true)}
	root := NewCmdNetBaselineWith(g, streams)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if ferr := g.profiling.Flush(); ferr != nil && err == nil {
		err = ferr
	}
	return err
}

// NewCmdNetBaseline builds the root command.
func NewCmdNetBaseline(streams genericiooptions.IOStreams) *cobra.Command {
	return NewCmdNetBaselineWith(&GlobalOptions{ConfigFlags: genericclioptions.NewConfigFlags(true)}, streams)
}

// NewCmdNetBaselineWith builds the root command around given global
// options (tests inject a Factory).
func NewCmdNetBaselineWith(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	if g.Factory == nil {
		g.Factory = &configFlagsFactory{flags: g.ConfigFlags}
	}
	root := &cobra.Command{
		Use:     "kubectl-netbaseline",
		Short:   "Least-privilege NetworkPolicy baselines for namespaces, proven",
		Long:    rootLong,
		Example: rootExample,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl netbaseline",
		},
		SilenceUsage:               true,
		SilenceErrors:              true,
		SuggestionsMinimumDistance: 2,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := "unknown command " + `"` + args[0] + `" for "kubectl netbaseline"`
			if s := c.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "; did you mean " + strings.Join(s, " or ") + "?"
			}
			return usageErrorf("%s", msg)
		},
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
		// Every command reads the Config, so a broken one is refused
		// before any API call (exit 2) rather than silently replaced by
		// the defaults.
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			if err := g.profiling.Start(); err != nil {
				return err
			}
			if c.Name() == "version" || c.Name() == "help" || strings.HasPrefix(c.Name(), cobra.ShellCompRequestCmd) {
				return nil
			}
			flagutil.WarnDeprecated(c)
			if _, err := input.ParseLimit(g.MaxInputSize); err != nil {
				return usageErrorf("%v", err)
			}
			if _, _, err := g.LoadConfig(); err != nil {
				var exit *ExitError
				if errors.As(err, &exit) {
					return err
				}
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--config: %w", err)}
			}
			if err := read.CheckKubeconfig(g.ConfigFlags); err != nil {
				return usageErrorf("%v", err)
			}
			return nil
		},
	}
	g.stdin = streams.In
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErrorf("%v", err) })

	g.ConfigFlags.AddFlags(root.PersistentFlags())
	root.PersistentFlags().StringVar(&g.ConfigFile, "config", "",
		"Config file (kind: Config, apiVersion: "+config.APIVersion+"); default $"+config.EnvConfig+", else the runbook's sample app")
	_ = root.MarkPersistentFlagFilename("config", "yaml", "yml")
	root.PersistentFlags().StringVar(&g.MaxInputSize, input.FlagName, input.DefaultMaxSize,
		"Bound on what one run reads from files and stdin together (-f, --dir, --config, --queries, templates); a byte count or a quantity such as 1Gi")
	g.profiling.AddFlags(root.PersistentFlags())
	_ = root.RegisterFlagCompletionFunc("namespace", completeClusterNamespaces(g))
	_ = root.RegisterFlagCompletionFunc("profile", cobra.FixedCompletions(profiling.Names, cobra.ShellCompDirectiveNoFileComp))

	root.AddCommand(
		NewCmdRender(g, streams),
		NewCmdInit(g, streams),
		NewCmdExplain(g, streams),
		NewCmdAudit(g, streams),
		NewCmdProbe(g, streams),
		NewCmdDiscover(g, streams),
		NewCmdDoctor(g, streams),
		NewCmdDiff(g, streams),
		NewCmdApply(g, streams),
		NewCmdRollback(g, streams),
		NewCmdReport(g, streams),
		NewCmdVersion(streams),
	)
	completeKubeconfigNames(root, g)
	for _, c := range root.Commands() {
		if c.ValidArgsFunction == nil {
			c.ValidArgsFunction = cobra.NoFileCompletions // no command takes file arguments
		}
	}
	return root
}

// command is the shape of every command's options, kubectl's pattern:
// Complete resolves (the Config, names, files; never the cluster),
// Validate checks without side effects, Run does the work.
type command interface {
	Complete(args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// runCommand is every command's RunE: complete, validate, run.
func runCommand(o command) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		if err := o.Complete(args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run(c.Context())
	}
}

// noArgs reports positional arguments as a usage error.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s takes no arguments, got %q; see '%s --help'", c.DisplayName(), args, c.DisplayName())
	}
	return nil
}
