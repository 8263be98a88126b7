package discover

import (
	"fmt"
	"io"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
)

// WriteConfig writes the Config as YAML with the evidence as comments
// next to what it explains, and header (lines) on top.
func WriteConfig(w io.Writer, res *Result, header []string) error {
	return output.WriteCommentedYAML(w, res.Config, header, res.Comments)
}

// Header is the comment on top of a discovered Config.
func Header(namespaces []string, pods int, window string) []string {
	return []string{
		fmt.Sprintf("Discovered by kubectl netbaseline discover from %d pod(s) in %v over %s.", pods, namespaces, window),
		"Only what was observed is allowed: review it, then",
		"  kubectl netbaseline diff --flows --config FILE -n NS   (what the baseline would cut)",
		"  kubectl netbaseline apply --verify --config FILE -n NS",
	}
}

// ParseBack reads a written Config the way every command does (a check
// that what discover prints is a valid Config).
func ParseBack(data []byte) (*config.Config, error) { return config.Parse("discover", data) }
