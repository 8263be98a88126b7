// Package netbaseline is kubectl netbaseline's policy engine as a Go API,
// for a controller, a CI tool or an admission webhook that needs to know
// whether traffic is allowed and why: load manifests or a live cluster
// into a Snapshot, ask questions in explain's SOURCE/DEST grammar, stream
// a matrix, and compare the flows of two snapshots.
//
// It decides what the command decides, the same way: NetworkPolicy,
// AdminNetworkPolicy, BaselineAdminNetworkPolicy and ClusterNetworkPolicy,
// Calico's policies as felix does, the EKS network policy agent's
// ClusterNetworkPolicy; "unspecified" where the enforcer leaves the answer
// open, never a guess.
//
// The API follows the module's semantic version: within a major version
// nothing exported here is removed or changed (hack/apicheck holds the
// package to api.txt in CI). Everything else of the module is internal.
package netbaseline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/client-go/rest"

	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/explain"
	"github.com/netbaseline/kubectl-netbaseline/internal/flowdiff"
	"github.com/netbaseline/kubectl-netbaseline/internal/input"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// Snapshot is what decides traffic at one moment: namespaces, pods,
// Services and every policy kind the engine reads, with what could not
// be read. It is compiled into the engine when loaded; it is read-only
// and safe for concurrent use.
type Snapshot struct {
	model  *model.Model
	engine *policy.Engine
	// origin is the snapshot read from the cluster or the manifests that
	// this one derives from (itself when it was read).
	origin *Snapshot
}

// LoadOptions tune LoadFiles and LoadReader.
type LoadOptions struct {
	// DefaultNamespace is the namespace of namespaced objects written
	// without one, as kubectl apply -n would take it ("default" if
	// empty).
	DefaultNamespace string
	// MaxInputSize bounds the bytes read in all (0: 256 MiB).
	MaxInputSize int64
}

// LoadFiles reads manifests: files, directories of *.yaml, *.yml and
// *.json, as explain -f does (a stream is LoadReader's).
func LoadFiles(paths []string, opts LoadOptions) (*Snapshot, error) {
	if slices.Contains(paths, "-") {
		return nil, errors.New(`LoadFiles reads files and directories: read a stream ("-") with LoadReader`)
	}
	m, err := read.Load(input.NewReader(strings.NewReader(""), opts.MaxInputSize), paths, opts.DefaultNamespace)
	if err != nil {
		return nil, err
	}
	return newSnapshot(m), nil
}

// LoadReader reads a stream of manifests (YAML documents or JSON).
func LoadReader(r io.Reader, opts LoadOptions) (*Snapshot, error) {
	m, err := read.Load(input.NewReader(r, opts.MaxInputSize), []string{"-"}, opts.DefaultNamespace)
	if err != nil {
		return nil, err
	}
	return newSnapshot(m), nil
}

// LiveOptions tune LoadLive.
type LiveOptions struct {
	// Namespaces are read one by one where RBAC forbids cluster-wide
	// lists (the namespaces the questions are about).
	Namespaces []string
}

// LoadLive reads the cluster through cfg, as explain does without -f:
// cluster-wide where RBAC allows it, else opts.Namespaces one by one.
// What cannot be read makes the answers it could change unknown: an
// *UnreadableError, or a verdict "unspecified", never "allowed" or
// "denied".
func LoadLive(ctx context.Context, cfg *rest.Config, opts LiveOptions) (*Snapshot, error) {
	clients, err := read.NewClients(cfg)
	if err != nil {
		return nil, err
	}
	m, err := read.LoadLive(ctx, clients, read.LiveOptions{Namespaces: opts.Namespaces})
	if err != nil {
		return nil, err
	}
	return newSnapshot(m), nil
}

func newSnapshot(m *model.Model) *Snapshot {
	s := &Snapshot{model: m, engine: policy.New(m)}
	s.origin = s
	return s
}

// Warnings are what reading found questionable (an object defined twice,
// a list that could not be read) and the policies the engine cannot use
// as written.
func (s *Snapshot) Warnings() []string {
	return append(append([]string{}, s.model.Warnings...), s.engine.Problems...)
}

// WithNetworkPolicies is the snapshot once the NetworkPolicies of each
// namespace in policies are exactly those given (a namespace not in the
// map keeps its own): what a change would make of the cluster, for
// FlowChanges. The policies' namespace is taken from the map's key; s
// stays as it was.
func (s *Snapshot) WithNetworkPolicies(policies map[string][]networkingv1.NetworkPolicy) *Snapshot {
	replace := map[string][]*networkingv1.NetworkPolicy{}
	for namespace, list := range policies {
		replace[namespace] = []*networkingv1.NetworkPolicy{}
		for i := range list {
			replace[namespace] = append(replace[namespace], list[i].DeepCopy())
		}
	}
	next := newSnapshot(policy.After(s.model, replace, nil))
	next.origin = s.origin
	return next
}

// The verdicts.
const (
	Allowed     = "allowed"
	Denied      = "denied"
	Unspecified = "unspecified"
)

// Verdict is the answer for one flow: from a pod (or address) to a pod
// (or address) on one port.
type Verdict struct {
	From, To string
	// FromGroup and ToGroup name the groups of pods alike the two ends
	// stand for ("" outside a matrix).
	FromGroup, ToGroup string
	Port               int32
	PortName           string
	Protocol           corev1.Protocol
	// Verdict is Allowed, Denied or Unspecified.
	Verdict string
	// Reason says in a few words which tier, policy and rule decided each
	// side, or why the answer is unspecified (explain's REASON column).
	Reason string
	// Egress is the source's side, Ingress the destination's (nil for an
	// end outside the cluster).
	Egress, Ingress *Side
	// Hints point at likely mistakes (a selector one typo away from a
	// label, a policy that selects nothing), as explain prints them.
	Hints []Hint
}

// Hint is a remark on a verdict: its code (docs/commands.md lists them)
// and its message.
type Hint struct {
	Code, Message string
}

// Side is one direction's own verdict.
type Side struct {
	// Verdict is Allowed, Denied or Unspecified; Tier names what decided
	// it (admin, networkpolicy, baseline, calico, none, …).
	Verdict, Tier string
	// AllowedBy lists the NetworkPolicy rules that allowed it.
	AllowedBy []Rule
	// IsolatedBy names the policies that select the pod this way.
	IsolatedBy []string
	// Undecided says why the side is unspecified.
	Undecided string
}

// Rule is a rule of a policy: its namespace, name and index.
type Rule struct {
	Namespace, Name string
	Index           int
}

// Explain answers SOURCE DEST as explain does: each is NS, NS/POD,
// NS/KIND/NAME (NS/svc/NAME for a DEST), an IP address or a CIDR; DEST may
// end in :PORT[/PROTO]. ports are PORT[/PROTO] (a number or a name); with
// none, every port the destination declares (not both). The error is a
// *QuestionError when the question cannot be asked of this snapshot, an
// *UnreadableError when its answer depends on what could not be read.
func (s *Snapshot) Explain(source, dest string, ports ...string) ([]Verdict, error) {
	q, err := s.question(source, dest, ports)
	if err != nil {
		return nil, err
	}
	xs, err := s.engine.Explain(q)
	var qe *policy.QueryError
	if errors.As(err, &qe) {
		return nil, &QuestionError{msg: qe.Msg}
	}
	if err != nil {
		return nil, err
	}
	out := make([]Verdict, 0, len(xs))
	for _, x := range xs {
		out = append(out, verdictOf(x))
	}
	return out, nil
}

// QuestionError is a question the snapshot cannot answer as asked: an
// endpoint that does not parse or does not exist, a port nobody declares.
type QuestionError struct{ msg string }

func (e *QuestionError) Error() string { return e.msg }

// UnreadableError is an answer that depends on objects the snapshot could
// not read (RBAC): unknown, not "no".
type UnreadableError struct{ msg string }

func (e *UnreadableError) Error() string { return e.msg }

// questionError sorts an endpoint's error: what could not be read, or a
// question that cannot be asked.
func questionError(what string, err error) error {
	var unreadable *model.UnreadableError
	if errors.As(err, &unreadable) {
		return &UnreadableError{msg: what + " " + err.Error()}
	}
	return &QuestionError{msg: what + " " + err.Error()}
}

func (s *Snapshot) question(source, dest string, ports []string) (policy.Query, error) {
	q := policy.Query{}
	from, to, err := explain.ParseQuestion(source, dest, "")
	if err != nil {
		return q, &QuestionError{msg: err.Error()}
	}
	if to.HasPort() && len(ports) > 0 {
		return q, &QuestionError{msg: "give the port either as DEST:PORT or in ports, not both"}
	}
	if q.From, err = endpoint.Resolve(s.model, from); err != nil {
		return q, questionError("SOURCE", err)
	}
	if q.To, err = endpoint.Resolve(s.model, to); err != nil {
		return q, questionError("DEST", err)
	}
	if to.HasPort() {
		q.Ports = append(q.Ports, policy.PortSpec{Port: to.Port, Protocol: to.EffectiveProtocol()})
	}
	for _, p := range ports {
		port, proto, err := endpoint.ParsePortFlag(p)
		if err != nil {
			return q, &QuestionError{msg: fmt.Sprintf("port %s: %v", p, err)}
		}
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		q.Ports = append(q.Ports, policy.PortSpec{Port: port, Protocol: proto})
	}
	return q, nil
}

// Matrix streams the verdict of every group of pods of the namespaces
// (every namespace when none is given) to every group, on each port the
// destination declares, as explain --matrix does; yield's error stops it.
// Pods that could not be read make it an *UnreadableError, never a
// partial matrix.
func (s *Snapshot) Matrix(ctx context.Context, namespaces []string, yield func(Verdict) error) error {
	if missing := s.model.Refusals([]string{"pods"}, namespaces); len(missing) > 0 {
		return &UnreadableError{msg: "the matrix is unknown: " + strings.Join(missing, "; ")}
	}
	focus := map[string]bool{}
	for _, ns := range namespaces {
		focus[ns] = true
	}
	var pods []*model.Pod
	for _, p := range s.model.Pods {
		if len(focus) == 0 || focus[p.Namespace] {
			pods = append(pods, p)
		}
	}
	groups := s.engine.Groups(pods)
	return s.engine.MatrixBetween(groups, groups, nil, func(x policy.Explanation) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return yield(verdictOf(x))
	})
}

// FlowChange is a flow whose verdict differs between two snapshots.
type FlowChange struct {
	From, To, FromGroup, ToGroup string
	Port                         int32
	PortName                     string
	Protocol                     corev1.Protocol
	Before, After                string
}

// FlowChanges lists the flows whose verdict after differs from before,
// between every group of pods that touches one of the namespaces (every
// namespace when none is given), on each port the destination declares.
// after must derive from the same read as before (before itself, or
// WithNetworkPolicies of it), so that both hold the same pods, as diff
// --flows compares them. An *UnreadableError when what could not be read
// (pods, Services, policies, namespace labels a selector needs) could
// change the answer.
func FlowChanges(before, after *Snapshot, namespaces ...string) ([]FlowChange, error) {
	if before.origin != after.origin {
		return nil, errors.New("FlowChanges compares two snapshots of one read: make after with before.WithNetworkPolicies")
	}
	focus := map[string]bool{}
	for _, ns := range namespaces {
		focus[ns] = true
	}
	if len(focus) == 0 {
		for _, ns := range after.model.Namespaces {
			focus[ns.Name] = true
		}
		for _, p := range after.model.Pods {
			focus[p.Namespace] = true
		}
	}
	// What could not be read makes the changes unknown, never "none", as
	// for diff --flows.
	if err := flowdiff.Unknown(before.model, before.engine, after.engine); err != nil {
		return nil, &UnreadableError{msg: errors.Unwrap(err).Error()}
	}
	var out []FlowChange
	for _, c := range policy.FlowChanges(before.engine, after.engine, focus) {
		out = append(out, FlowChange{From: c.From, To: c.To, FromGroup: c.FromGroup, ToGroup: c.ToGroup, Port: c.Port,
			PortName: c.PortName, Protocol: c.Protocol, Before: string(c.Before), After: string(c.After)})
	}
	return out, nil
}

func verdictOf(x policy.Explanation) Verdict {
	v := Verdict{From: x.From, To: x.To, FromGroup: x.FromGroup, ToGroup: x.ToGroup, Port: x.Port, PortName: x.PortName,
		Protocol: x.Protocol, Verdict: string(x.Verdict), Reason: output.Reason(x), Egress: sideOf(x.Egress), Ingress: sideOf(x.Ingress)}
	for _, h := range x.Hints {
		v.Hints = append(v.Hints, Hint{Code: h.Code, Message: h.Message})
	}
	return v
}

func sideOf(s *policy.Side) *Side {
	if s == nil {
		return nil
	}
	// The engine's lists are shared by every pod of a class: the caller
	// gets its own.
	out := &Side{Verdict: string(s.Verdict), Tier: string(s.Tier), IsolatedBy: slices.Clone(s.IsolatedBy), Undecided: s.Undecided}
	for _, r := range s.AllowedBy {
		out.AllowedBy = append(out.AllowedBy, Rule{Namespace: r.Namespace, Name: r.Name, Index: r.Rule})
	}
	return out
}
