package output

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// FlowDiff is the document diff --flows prints with -o json.
type FlowDiff struct {
	APIVersion string              `json:"apiVersion"`
	Kind       string              `json:"kind"`
	Changes    []policy.FlowChange `json:"changes"`
}

// NewFlowDiff wraps the changes in the versioned document.
func NewFlowDiff(changes []policy.FlowChange) FlowDiff {
	if changes == nil {
		changes = []policy.FlowChange{}
	}
	return FlowDiff{APIVersion: ownership.APIVersion, Kind: "FlowDiff", Changes: changes}
}

// FlowDiffTable prints FROM, TO, PORT and the verdict before and after
// (headed before and after: NOW and AFTER APPLY, or OLD and NEW).
func FlowDiffTable(w io.Writer, changes []policy.FlowChange, before, after string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "FROM\tTO\tPORT\t%s\t%s\n", before, after)
	for _, c := range changes {
		port := fmt.Sprintf("%d/%s", c.Port, c.Protocol)
		if c.PortName != "" {
			port = c.PortName + " (" + port + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.FromGroup, c.ToGroup, port, c.Before, c.After)
	}
	return tw.Flush()
}

// NamespaceMatrix is the document explain --matrix --group-by namespace
// prints with -o json|yaml.
type NamespaceMatrix struct {
	APIVersion string                 `json:"apiVersion"`
	Kind       string                 `json:"kind"`
	Flows      []policy.NamespaceFlow `json:"flows"`
}

// NewNamespaceMatrix wraps the aggregated flows in the versioned document.
func NewNamespaceMatrix(flows []policy.NamespaceFlow) NamespaceMatrix {
	if flows == nil {
		flows = []policy.NamespaceFlow{}
	}
	return NamespaceMatrix{APIVersion: ownership.APIVersion, Kind: "NamespaceMatrix", Flows: flows}
}

// NamespaceMatrixTable prints FROM, TO, PORT, ALLOWED (all/some/none with
// counts of group pairs) and an example of an allowed and a denied pair.
func NamespaceMatrixTable(w io.Writer, flows []policy.NamespaceFlow, noHeaders bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if !noHeaders {
		fmt.Fprintln(tw, "FROM\tTO\tPORT\tALLOWED\tEXAMPLE ALLOWED\tEXAMPLE DENIED")
	}
	for _, f := range flows {
		total := f.Allowed + f.Denied + f.Unspecified
		allowed := fmt.Sprintf("%s (%d/%d)", f.Reach, f.Allowed, total)
		if f.Unspecified > 0 {
			allowed += fmt.Sprintf(", %d unspecified", f.Unspecified)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%s\t%s\t%s\t%s\n", f.From, f.To, f.Port, f.Protocol, allowed, dash(f.Examples[policy.Allowed]), dash(f.Examples[policy.Denied]))
	}
	return tw.Flush()
}
