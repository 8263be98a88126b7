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

// FlowDiffTable prints FROM, TO, PORT, NOW, AFTER APPLY.
func FlowDiffTable(w io.Writer, changes []policy.FlowChange) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FROM\tTO\tPORT\tNOW\tAFTER APPLY")
	for _, c := range changes {
		port := fmt.Sprintf("%d/%s", c.Port, c.Protocol)
		if c.PortName != "" {
			port = c.PortName + " (" + port + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.FromGroup, c.ToGroup, port, c.Before, c.After)
	}
	return tw.Flush()
}
