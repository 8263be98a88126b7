package cmd

import (
	"context"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/netbaseline/kubectl-netbaseline/internal/canary"
	"github.com/netbaseline/kubectl-netbaseline/internal/cmd/flagutil"
	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/doctor"
	"github.com/netbaseline/kubectl-netbaseline/internal/inventory"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/output/kubeprint"
	"github.com/netbaseline/kubectl-netbaseline/internal/probing"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
	"github.com/netbaseline/kubectl-netbaseline/internal/reporting"
)

var doctorLong = templates.LongDesc(`
	Check that the baseline can work on this cluster: a NetworkPolicy engine that
	really enforces (Calico, Cilium, the AWS VPC CNI network policy agent,
	kube-router, Antrea, Weave, kube-network-policies; the VPC CNI alone does not)
	and how it ends denied packets; nodes where policies are not enforced; the
	namespaces and app labels the policies select; Services whose targetPort does
	not resolve on their pods, and policies that name a Service port instead of a
	pod port; allow-dns against the real DNS pods and NodeLocal DNSCache.

	Each finding has a stable ID, a severity (pass, info, warn, fail), a message
	and a fix. What RBAC does not let doctor read is reported as "could not
	check", never as a failure. Exit status 3 when any check fails.`)

var doctorExample = templates.Examples(`
	# The sample app's namespaces (or the config's)
	kubectl netbaseline doctor

	# For CI
	kubectl netbaseline doctor -o json --junit doctor.xml`)

// DoctorOptions holds the state of `doctor`.
type DoctorOptions struct {
	*GlobalOptions
	Canary     bool
	Image      string
	PullPolicy string
	Wait       time.Duration
	Namespaces []string
	Output     string
	JUnit      string
	NoHeaders  bool
	genericiooptions.IOStreams

	config *config.Config
}

// NewDoctorOptions returns the defaults of `doctor`.
func NewDoctorOptions(g *GlobalOptions, streams genericiooptions.IOStreams) *DoctorOptions {
	return &DoctorOptions{GlobalOptions: g, IOStreams: streams, Output: "table", PullPolicy: string(corev1.PullIfNotPresent), Wait: 90 * time.Second}
}

// NewCmdDoctor builds `doctor`.
func NewCmdDoctor(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewDoctorOptions(g, streams)
	c := &cobra.Command{
		Use:     "doctor [-n NAMESPACE]...",
		Short:   "Check enforcement, labels, ports and DNS before applying",
		Long:    doctorLong,
		Example: doctorExample,
		Args:    noArgs,
		RunE:    runCommand(o),
	}
	o.AddFlags(c)
	return c
}

// AddFlags registers doctor's flags.
func (o *DoctorOptions) AddFlags(c *cobra.Command) {
	c.Flags().StringSliceVarP(&o.Namespaces, "namespace", "n", nil, "App namespaces to check (repeatable); default the config's")
	_ = c.RegisterFlagCompletionFunc("namespace", completeConfigNamespaces(o.GlobalOptions))
	flagutil.AddOutputFlag(c, &o.Output, output.Doctor)
	c.Flags().BoolVar(&o.NoHeaders, "no-headers", false, "Print the table without its header line")
	c.Flags().StringVar(&o.JUnit, "junit", "", "Also write a JUnit XML report to this file")
	c.Flags().BoolVar(&o.Canary, "canary", false, "Measure enforcement: two throw-away pods in a scratch namespace, a deny-all, a probe (everything deleted afterwards)")
	c.Flags().StringVar(&o.Image, "image", "", "Agent image for --canary (default as for probe)")
	flagutil.AddPullPolicyFlag(c, &o.PullPolicy)
	c.Flags().DurationVar(&o.Wait, "wait-timeout", o.Wait, "How long --canary waits for each pod")
}

// Complete reads the Config and picks the canary's image.
func (o *DoctorOptions) Complete(_ []string) error {
	if err := flagutil.InlineTemplateFile(o.Inputs(), &o.Output); err != nil {
		return err
	}
	cfg, _, err := o.LoadConfig()
	if err != nil {
		return err
	}
	if len(o.Namespaces) > 0 {
		cfg = cfg.Restricted(o.Namespaces)
	}
	o.config = cfg
	if o.Image == "" {
		o.Image = probing.Image(cfg.Probe.Image)
	}
	return nil
}

// Validate checks the flags.
func (o *DoctorOptions) Validate() error {
	if err := flagutil.ValidateOutput(o.Output, output.Doctor, output.Doctor); err != nil {
		return err
	}
	if err := flagutil.ValidatePullPolicy(o.PullPolicy); err != nil {
		return err
	}
	if err := flagutil.BoundedWait("wait-timeout", o.Wait, flagutil.MaxWaitTimeout); err != nil {
		return err
	}
	if o.Canary {
		return probing.RequireImage(o.Image)
	}
	return nil
}

// Run checks through reporting.Doctor.
func (o *DoctorOptions) Run(ctx context.Context) error {
	cfg := o.config
	clients, err := o.Factory.Clients()
	if err != nil {
		return err
	}
	d := reporting.Doctor{Config: cfg, Image: o.Image, Output: o.Output, NoHeaders: o.NoHeaders, JUnit: o.JUnit, Out: o.Out, ErrOut: o.ErrOut,
		Inventory: func(ctx context.Context) (*inventory.Snapshot, error) {
			return read.Doctor(ctx, clients, cfg.Doctor.ArgoCD.Namespace, cfg.Doctor.ArgoCD.RepoSecret, read.LiveOptions{Namespaces: cfg.CheckedNamespaces()})
		},
		PrintTable: kubeprint.Table, WriteFile: writeFile}
	if o.Canary {
		d.Canary = func(ctx context.Context) doctor.Finding {
			return canary.Run(ctx, clients.Kube, canary.Options{Image: o.Image, PullPolicy: corev1.PullPolicy(o.PullPolicy), Wait: o.Wait, Log: o.ErrOut})
		}
	}
	return d.Run(ctx)
}
