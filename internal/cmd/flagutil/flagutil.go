// Package flagutil holds the flag wiring every command shares that needs
// nothing of the command layer: -o (help, completion, validation,
// template files), --image-pull-policy, --dry-run, --port, deprecated
// aliases, bounded waits, and whether stderr is a terminal. It keeps
// internal/cmd to its commands (docs/design.md: at most 3,000 lines).
package flagutil

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/input"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/output/kubeprint"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// IsTerminal reports whether w is a terminal (progress then rewrites one
// line; in logs it prints plain lines).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// AddOutputFlag registers -o with the formats the command prints.
func AddOutputFlag(c *cobra.Command, target *string, docs ...output.Document) {
	formats := output.FormatNames(docs...)
	c.Flags().StringVarP(target, "output", "o", *target, "Output format: "+strings.Join(formats, "|"))
	_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

// ValidateOutput checks -o for the document the run prints (one of the
// command's docs), and its custom columns or template, before any API
// call.
func ValidateOutput(format string, doc output.Document, docs ...output.Document) error {
	if err := output.CheckFormat(format, doc, docs...); err != nil {
		return exit.Usagef("%v", err)
	}
	if err := output.CheckTemplate(format); err != nil {
		return exit.Usagef("-o %s: %v", strings.SplitN(format, "=", 2)[0], err)
	}
	return kubeprint.CheckCustomColumns(format)
}

// InlineTemplateFile reads the file of -o jsonpath-file=F or
// go-template-file=F through the run's bounded input and hands its text
// on inline (jsonpath=TEXT, go-template=TEXT).
func InlineTemplateFile(in *input.Reader, format *string) error {
	inline, path, ok := output.TemplateFile(*format)
	if !ok {
		return nil
	}
	flag := "-o " + *format
	if path == "-" {
		return exit.Usagef("%s: a template is read from a file; stdin is for manifests and questions", flag)
	}
	text, err := in.Text(path)
	if err != nil {
		return exit.Usagef("%s: %v", flag, err)
	}
	if strings.TrimSpace(string(text)) == "" {
		return exit.Usagef("%s: the file is empty", flag)
	}
	if err := output.CheckTemplate(inline + string(text)); err != nil {
		return exit.Usagef("%s: %v", flag, err)
	}
	*format = inline + string(text)
	return nil
}

// AddPullPolicyFlag registers --image-pull-policy.
func AddPullPolicyFlag(c *cobra.Command, target *string) {
	c.Flags().StringVar(target, "image-pull-policy", *target, "Always, IfNotPresent or Never")
}

// ValidatePullPolicy refuses a pull policy Kubernetes does not know.
func ValidatePullPolicy(p string) error {
	switch corev1.PullPolicy(p) {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
		return nil
	}
	return exit.Usagef("--image-pull-policy %q: use Always, IfNotPresent or Never", p)
}

// AddDryRunFlag registers kubectl's --dry-run=none|server|client.
func AddDryRunFlag(c *cobra.Command, target *string) {
	c.Flags().StringVar(target, "dry-run", "none", `Must be "none", "server", or "client": server sends every request as a dry run, client sends none`)
	c.Flags().Lookup("dry-run").NoOptDefVal = DryRunUnchanged
	_ = c.RegisterFlagCompletionFunc("dry-run", cobra.FixedCompletions([]string{"none", "server", "client"}, cobra.ShellCompDirectiveNoFileComp))
}

// ParseDryRun reads --dry-run; a bare --dry-run is client, with kubectl's
// deprecation warning.
func ParseDryRun(s string, errOut io.Writer) (apply.DryRun, error) {
	if s == DryRunUnchanged {
		fmt.Fprintln(errOut, "Warning: --dry-run is deprecated and can be replaced with --dry-run=client.")
		return apply.DryRunClient, nil
	}
	d, err := apply.ParseDryRun(s)
	if err != nil {
		return "", exit.Usagef("%v", err)
	}
	return d, nil
}

// ParsePortFlags reads repeated --port PORT[/PROTO] values (TCP default).
func ParsePortFlags(values []string) ([]policy.PortSpec, error) {
	var out []policy.PortSpec
	for _, v := range values {
		port, proto, err := endpoint.ParsePortFlag(v)
		if err != nil {
			return nil, exit.Usagef("--port %s: %v", v, err)
		}
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		out = append(out, policy.PortSpec{Port: port, Protocol: proto})
	}
	return out, nil
}

// CompletePrintFormats completes -o with the formats cli-runtime's
// printers accept (yaml, json, name, jsonpath=, go-template=, …).
func CompletePrintFormats(c *cobra.Command, f *genericclioptions.PrintFlags) {
	_ = c.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return f.AllowedFormats(), cobra.ShellCompDirectiveNoFileComp
	})
}

// DeprecatedAlias registers old as another name of the flag current (same
// value), hidden from help and warned about when used, for one release.
func DeprecatedAlias(c *cobra.Command, old, current string) {
	f := c.Flags().Lookup(current)
	alias := *f
	alias.Name, alias.Shorthand = old, ""
	alias.Usage = "deprecated: use --" + current
	alias.Hidden = true
	alias.Annotations = map[string][]string{deprecatedFor: {current}}
	c.Flags().AddFlag(&alias)
}

// WarnDeprecated says, on stderr, which deprecated names a command line used.
func WarnDeprecated(c *cobra.Command) {
	c.Flags().Visit(func(f *pflag.Flag) {
		if current := f.Annotations[deprecatedFor]; len(current) == 1 {
			fmt.Fprintf(c.ErrOrStderr(), "Flag --%s has been deprecated, use --%s instead\n", f.Name, current[0])
		}
	})
}

// BoundedWait refuses a wait flag that is not positive or above its bound.
func BoundedWait(flag string, d, limit time.Duration) error {
	if d <= 0 || d > limit {
		return exit.Usagef("--%s %s: must be positive and at most %s", flag, d, limit)
	}
	return nil
}

// Upper bounds of the wait flags: every wait of a run ends, and a typo
// (--settle-timeout 20h) is refused rather than holding a lease for a day.
const (
	MaxCheckTimeout   = time.Minute
	MaxWaitTimeout    = 15 * time.Minute
	MaxSettleTimeout  = 10 * time.Minute
	MaxRestoreTimeout = 30 * time.Minute
)

// DryRunUnchanged is a bare --dry-run, which kubectl still reads as
// client with a deprecation warning.
const DryRunUnchanged = "unchanged"

// deprecatedFor marks an alias flag with the name that replaces it.
const deprecatedFor = "netbaseline.io/deprecated-for"
