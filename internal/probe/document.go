package probe

import "github.com/netbaseline/kubectl-netbaseline/internal/ownership"

// Document is the document probe prints with -o json|yaml and writes
// with --save (report reads it).
type Document struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	DenyMode   DenyMode `json:"denyMode"`
	Image      string   `json:"image,omitempty"`
	// ProbedAt is when the probes ran (RFC 3339, UTC).
	ProbedAt     string        `json:"probedAt,omitempty"`
	Observations []Observation `json:"observations"`
}

// NewDocument wraps observations in the versioned document.
func NewDocument(mode DenyMode, image string, obs []Observation) Document {
	if obs == nil {
		obs = []Observation{}
	}
	return Document{APIVersion: ownership.APIVersion, Kind: "ProbeResult", DenyMode: mode, Image: image, Observations: obs}
}

// PodObservation is one pod's report, or why there is none.
type PodObservation struct {
	Namespace, Name string
	Observation     *SocketObservation
	Err             error
}
