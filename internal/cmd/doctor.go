package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/doctor"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
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
	genericiooptions.IOStreams
}

var doctorFormats = []string{"table", "json", "yaml"}

// NewCmdDoctor builds `doctor`.
func NewCmdDoctor(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DoctorOptions{GlobalOptions: g, IOStreams: streams}
	c := &cobra.Command{
		Use:     "doctor [-n NAMESPACE]...",
		Short:   "Check enforcement, labels, ports and DNS before applying",
		Long:    doctorLong,
		Example: doctorExample,
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if !contains(doctorFormats, o.Output) {
				return usageErrorf("unknown output format %q: use one of %s", o.Output, strings.Join(doctorFormats, ", "))
			}
			return o.Run(c.Context())
		},
	}
	c.Flags().StringSliceVarP(&o.Namespaces, "namespace", "n", nil, "App namespaces to check (repeatable); default the config's")
	_ = c.RegisterFlagCompletionFunc("namespace", completeConfigNamespaces(g))
	c.Flags().StringVarP(&o.Output, "output", "o", "table", "Output format: "+strings.Join(doctorFormats, "|"))
	c.Flags().StringVar(&o.JUnit, "junit", "", "Also write a JUnit XML report to this file")
	c.Flags().BoolVar(&o.Canary, "canary", false, "Measure enforcement: two throw-away pods in a scratch namespace, a deny-all, a probe (everything deleted afterwards)")
	c.Flags().StringVar(&o.Image, "image", "", "Agent image for --canary (default as for probe)")
	c.Flags().StringVar(&o.PullPolicy, "image-pull-policy", string(corev1.PullIfNotPresent), "Always, IfNotPresent or Never")
	c.Flags().DurationVar(&o.Wait, "wait-timeout", 90*time.Second, "How long --canary waits for each pod")
	return c
}

// Run reads the cluster once and checks it.
func (o *DoctorOptions) Run(ctx context.Context) error {
	cfg, _, err := o.LoadConfig()
	if err != nil {
		return err
	}
	if len(o.Namespaces) > 0 {
		cfg = restrictNamespaces(cfg, o.Namespaces)
	}
	clients, err := o.Factory.Clients()
	if err != nil {
		return err
	}
	snap, err := read.Doctor(ctx, clients, cfg.Doctor.ArgoCD.Namespace, read.LiveOptions{Namespaces: configNamespaces(cfg)})
	if err != nil {
		return err
	}
	if o.Image == "" {
		o.Image = probeImage(cfg.Probe.Image)
	}
	rep := doctor.Run(snap, cfg, o.Image)
	if o.Canary {
		rep.Findings = append(rep.Findings, o.canary(ctx, clients.Kube))
	}
	switch o.Output {
	case "json":
		b, err := json.MarshalIndent(map[string]any{"apiVersion": "netbaseline.io/v1alpha1", "kind": "DoctorReport", "engines": rep.Engines, "findings": rep.Findings}, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "%s\n", b)
	case "yaml":
		b, err := yaml.Marshal(map[string]any{"apiVersion": "netbaseline.io/v1alpha1", "kind": "DoctorReport", "engines": rep.Engines, "findings": rep.Findings})
		if err != nil {
			return err
		}
		_, _ = o.Out.Write(b)
	default:
		if err := doctorTable(o.Out, rep.Findings); err != nil {
			return err
		}
	}
	if o.JUnit != "" {
		var buf bytes.Buffer
		if err := doctorJUnit(&buf, rep.Findings); err != nil {
			return err
		}
		if err := os.WriteFile(o.JUnit, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	if doctor.CheckedNothing(rep.Findings) {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("doctor could check nothing: every read it needs was refused (see each finding); grant hack/rbac/read.yaml and rerun")}
	}
	if doctor.Worst(rep.Findings) == doctor.Fail {
		return &ExitError{Code: ExitUnmet, Err: fmt.Errorf("doctor found failures")}
	}
	return nil
}

// restrictNamespaces keeps the named namespaces (adding bare entries for
// those the config does not describe).
func restrictNamespaces(cfg *config.Config, names []string) *config.Config {
	c := *cfg
	c.Namespaces = nil
	for _, n := range names {
		if ns := cfg.FindNamespace(n); ns != nil {
			c.Namespaces = append(c.Namespaces, *ns)
		} else {
			c.Namespaces = append(c.Namespaces, config.Namespace{Name: n})
		}
	}
	return &c
}

func doctorTable(w io.Writer, fs []doctor.Finding) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tSUBJECT\tMESSAGE\tFIX")
	for _, f := range fs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.ID, f.Severity, dashIfEmpty(f.Subject), f.Message, dashIfEmpty(f.Fix))
	}
	return tw.Flush()
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func doctorJUnit(w io.Writer, fs []doctor.Finding) error {
	type problem struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	}
	type testcase struct {
		Name      string   `xml:"name,attr"`
		ClassName string   `xml:"classname,attr"`
		Failure   *problem `xml:"failure,omitempty"`
		Skipped   *problem `xml:"skipped,omitempty"`
	}
	type suite struct {
		XMLName  xml.Name   `xml:"testsuite"`
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Cases    []testcase `xml:"testcase"`
	}
	s := suite{Name: "kubectl-netbaseline doctor", Tests: len(fs)}
	for _, f := range fs {
		c := testcase{Name: f.ID + " " + f.Subject, ClassName: f.ID}
		switch f.Severity {
		case doctor.Fail:
			s.Failures++
			c.Failure = &problem{Message: f.Message, Text: f.Fix}
		case doctor.Info:
			c.Skipped = &problem{Message: f.Message}
		}
		s.Cases = append(s.Cases, c)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	return enc.Encode(s)
}
