// Package config holds the one Config schema every command reads: the app
// relations per namespace, where the ingress controller, monitoring and DNS
// live, external egress, the probe image and doctor's expectations.
package config

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
)

const (
	// APIVersion identifies a Config document, with Kind.
	APIVersion = ownership.APIVersion
	// Kind identifies a Config document, with APIVersion.
	Kind = "Config"

	// MetadataNameLabel is set by the control plane on every namespace and
	// cannot be forged, so it is the default namespace selector key.
	MetadataNameLabel = "kubernetes.io/metadata.name"
	// RunbookNameLabel is the runbook's `name=<ns>` convention.
	RunbookNameLabel = "name"

	// EnvConfig names the environment variable that points at a Config file
	// when --config is not given.
	EnvConfig = "NETBASELINE_CONFIG"
)

// Config is the whole configuration of kubectl netbaseline.
type Config struct {
	metav1.TypeMeta `json:",inline"`

	// NamespaceLabel is the label key namespace selectors match on; the
	// namespace's name is the value. Default kubernetes.io/metadata.name.
	NamespaceLabel string `json:"namespaceLabel,omitempty"`

	DNS               DNS               `json:"dns,omitempty"`
	IngressController IngressController `json:"ingressController,omitempty"`
	Monitoring        Monitoring        `json:"monitoring,omitempty"`

	// APIServer, when it has destinations, adds allow-egress-apiserver to
	// every namespace whose apiServer switch is on.
	APIServer EgressTarget `json:"apiServer,omitempty"`
	// CloudIdentity, when it has destinations, adds
	// allow-egress-cloud-identity (e.g. EKS Pod Identity 169.254.170.23:80).
	CloudIdentity EgressTarget `json:"cloudIdentity,omitempty"`

	// Namespaces are the app namespaces that get a baseline.
	Namespaces []Namespace `json:"namespaces,omitempty"`

	Probe  Probe  `json:"probe,omitempty"`
	Doctor Doctor `json:"doctor,omitempty"`
}

// DNS says where the cluster DNS pods are.
type DNS struct {
	Namespace string            `json:"namespace,omitempty"`
	PodLabels map[string]string `json:"podLabels,omitempty"`
	// NodeLocalAddress is the NodeLocal DNSCache address (e.g.
	// 169.254.20.10). It runs on the host network, so it is allowed by
	// ipBlock rather than by selectors.
	NodeLocalAddress string `json:"nodeLocalAddress,omitempty"`
}

// IngressController says where the ingress controller pods are.
type IngressController struct {
	Namespace string            `json:"namespace,omitempty"`
	PodLabels map[string]string `json:"podLabels,omitempty"`
	// SourceCIDRs are load-balancer source ranges that reach pods directly
	// (ALB/NLB in IP target mode).
	SourceCIDRs []string `json:"sourceCIDRs,omitempty"`
}

// Monitoring says where Prometheus runs and which named port it scrapes.
type Monitoring struct {
	Namespace string `json:"namespace,omitempty"`
	// PodLabels narrows the scrapers to these pods of the namespace; empty
	// means every pod of the monitoring namespace.
	PodLabels map[string]string `json:"podLabels,omitempty"`
	PortName  string            `json:"portName,omitempty"`
}

// EgressTarget is a set of external destinations.
type EgressTarget struct {
	To []CIDRRule `json:"to,omitempty"`
}

// CIDRRule allows traffic to a CIDR (minus exceptions) on some ports; no
// ports means every port.
type CIDRRule struct {
	CIDR   string   `json:"cidr"`
	Except []string `json:"except,omitempty"`
	Ports  []Port   `json:"ports,omitempty"`
}

// Port is a destination port: a number (optionally a range up to EndPort)
// and a protocol (TCP by default).
type Port struct {
	Port     int32  `json:"port,omitempty"`
	EndPort  int32  `json:"endPort,omitempty"`
	Protocol string `json:"protocol,omitempty"`
}

// Namespace is one app namespace and what its pods may do.
type Namespace struct {
	Name string `json:"name"`
	Apps []App  `json:"apps,omitempty"`

	// Monitoring allows the monitoring namespace to scrape the named
	// metrics port of every pod here. Default true.
	Monitoring *bool `json:"monitoring,omitempty"`
	// APIServer and CloudIdentity switch the corresponding global egress
	// on for this namespace when the Config defines destinations. Default
	// false: least privilege.
	APIServer     bool `json:"apiServer,omitempty"`
	CloudIdentity bool `json:"cloudIdentity,omitempty"`

	// EgressExternal is the only egress leaving the cluster (the controlled egress);
	// absent means none.
	EgressExternal *ExternalEgress `json:"egressExternal,omitempty"`
}

// ExternalEgress lets some pods of a namespace reach external CIDRs.
type ExternalEgress struct {
	// App restricts the egress to one app's pods; empty = every pod.
	App string     `json:"app,omitempty"`
	To  []CIDRRule `json:"to"`
}

// App is a workload, selected by its pod labels.
type App struct {
	Name string `json:"name"`
	// Labels select the app's pods. Default app=<name>.
	Labels map[string]string `json:"labels,omitempty"`
	// Ports the app serves on (pod ports, never Service ports).
	Ports []AppPort `json:"ports,omitempty"`
	// Ingress: the ingress controller may reach the app's ports.
	Ingress bool `json:"ingress,omitempty"`
	// TalksTo lists the apps this app calls; each relation produces an
	// egress policy here and an ingress policy at the destination.
	TalksTo []Relation `json:"talksTo,omitempty"`
}

// AppPort is a named container port.
type AppPort struct {
	Name     string `json:"name,omitempty"`
	Port     int32  `json:"port"`
	Protocol string `json:"protocol,omitempty"`
}

// Relation names a destination app.
type Relation struct {
	// Namespace of the destination app; default the caller's namespace.
	Namespace string `json:"namespace,omitempty"`
	App       string `json:"app"`
	// Ports; default every port the destination app declares.
	Ports []Port `json:"ports,omitempty"`
	// MatchSourcePods makes the destination's ingress rule require the
	// source app's pod labels as well as its namespace (one peer: AND).
	// Default false: the whole source namespace, as the runbook writes it.
	MatchSourcePods bool `json:"matchSourcePods,omitempty"`
}

// Probe configures the probe agent.
type Probe struct {
	Image string `json:"image,omitempty"`
}

// Doctor holds doctor's expectations of the cluster's policy tooling.
type Doctor struct {
	Kyverno Kyverno `json:"kyverno,omitempty"`
	ArgoCD  ArgoCD  `json:"argocd,omitempty"`
}

// Kyverno lists the ClusterPolicies doctor expects and how.
type Kyverno struct {
	ClusterPolicies []KyvernoPolicy `json:"clusterPolicies,omitempty"`
}

// KyvernoPolicy is one expected ClusterPolicy.
type KyvernoPolicy struct {
	Name string `json:"name"`
	// Action is the expected validationFailureAction: Audit or Enforce.
	Action string `json:"action"`
	// AllowedRegistries, for an image-registry rule: the patterns it should allow.
	AllowedRegistries []string `json:"allowedRegistries,omitempty"`
}

// ArgoCD describes the expected Argo CD Applications.
type ArgoCD struct {
	Namespace         string   `json:"namespace,omitempty"`
	DestinationServer string   `json:"destinationServer,omitempty"`
	Applications      []string `json:"applications,omitempty"`
	RepoSecret        string   `json:"repoSecret,omitempty"`
}
