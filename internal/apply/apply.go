package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
	"github.com/netbaseline/kubectl-netbaseline/internal/transition"
)

// DryRun is kubectl's --dry-run.
type DryRun string

// The --dry-run modes, as kubectl names them.
const (
	DryRunNone   DryRun = "none"
	DryRunClient DryRun = "client"
	DryRunServer DryRun = "server"
)

// ParseDryRun reads --dry-run as kubectl does.
func ParseDryRun(s string) (DryRun, error) {
	switch DryRun(s) {
	case DryRunNone, DryRunClient, DryRunServer:
		return DryRun(s), nil
	}
	return "", fmt.Errorf(`--dry-run must be "none", "server", or "client", not %q`, s)
}

// Op is what happened to an object.
type Op string

// What happened to an object, in kubectl apply's words.
const (
	Created    Op = "created"
	Configured Op = "configured"
	Unchanged  Op = "unchanged"
	Pruned     Op = "pruned"
	Deleted    Op = "deleted"
	Restored   Op = "restored"
)

// Options configure an Applier.
type Options struct {
	FieldManager   string
	DryRun         DryRun
	ForceConflicts bool
	Prune          bool
	Order          Order
	// Tooling is the ApplySet tooling annotation, "kubectl-netbaseline/v0.1.0".
	Tooling string
	// Progress receives one line per step (stderr in the CLI).
	Progress io.Writer
	// Verify, when set, runs after a namespace's new state has taken
	// effect (never in a dry run); an error undoes the whole run, as
	// after any other failure. apply --verify probes through it.
	Verify func(ctx context.Context, plan *NamespacePlan) error
	// RestoreTimeout bounds the undo after a failure (default 2m).
	RestoreTimeout time.Duration
	// EnforcerSettle is the wait for the enforcer to put a transition's
	// bridge in place before a policy changes in place (default
	// DefaultEnforcerSettle).
	EnforcerSettle time.Duration
	// Holder names this run in the lease ("user@host pid 123").
	Holder string
	// Pods lists a namespace's pods (the transition plan needs their
	// labels, ports and addresses); nil reads them with Client.
	Pods func(ctx context.Context, namespace string) ([]*model.Pod, error)
	// Sleep waits between retries; nil uses a timer (tests inject it).
	Sleep func(ctx context.Context, d time.Duration)
	// Now is the clock of the lease; nil is time.Now.
	Now func() time.Time
	// LeaseDuration is how long a namespace's lease lives without
	// renewal (default 1m); a run renews it every sixth of that.
	LeaseDuration time.Duration
	// CheckAccess, when set, is asked during planning whether RBAC allows
	// every write a namespace's plan makes (SelfAccessCheck); a refusal
	// refuses the whole run before any write.
	CheckAccess func(ctx context.Context, p *NamespacePlan) error
	// Layers are the cluster's other policies (Calico's, the
	// cluster-scoped tiers, the EKS agent's and its mode): every state of
	// a transition is proven with them, as the enforcer evaluates them.
	Layers *transition.Layers
}

// Applier applies baselines to one cluster.
type Applier struct {
	Client kubernetes.Interface
	Options
	// mu guards the leases (the journals' parents), which a timer renews
	// while the run writes, verifies and undoes.
	mu sync.Mutex
}

// Result is one object's outcome.
type Result struct {
	Namespace string
	Name      string
	Phase     int
	Op        Op
	// Object is the object as the server returned it (or would have).
	Object *networkingv1.NetworkPolicy
}

// Outcome is what an apply did.
type Outcome struct {
	Namespace string
	Results   []Result
	// Warnings: other owners found, foreign policies taken over.
	Warnings []string
}

// NamespaceMissingError reports that the namespace does not exist.
type NamespaceMissingError struct {
	Namespace string
	// Rollback: there is nothing to undo in a namespace that is not there.
	Rollback bool
}

func (e *NamespaceMissingError) Error() string {
	if e.Rollback {
		return fmt.Sprintf("namespace %q does not exist, so there is nothing to roll back in it (kubectl get namespaces lists them; rollback -A finds every namespace the plugin applied to)", e.Namespace)
	}
	return fmt.Sprintf("namespace %q does not exist; create it first (kubectl create namespace %s, and label it name=%s if your selectors use that label)", e.Namespace, e.Namespace, e.Namespace)
}

// ConflictError reports that same-named policies that are not ours; nothing was written.
type ConflictError struct {
	Namespace string
	Foreign   []string // "name (managers; owner)"
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("namespace %s has NetworkPolicies of these names that kubectl netbaseline did not create, or that others changed since:\n  %s\nrerun with --force-conflicts to take them over (foreign ones are saved in ConfigMap %s first, and rollback restores them), or rename or remove them",
		e.Namespace, strings.Join(e.Foreign, "\n  "), ownership.BackupName)
}

// desired is a rendered policy ready to send.
type desired struct {
	obj baseline.Object
	np  *networkingv1.NetworkPolicy
}

func (a *Applier) progress(format string, args ...any) {
	if a.Progress != nil {
		fmt.Fprintf(a.Progress, format+"\n", args...)
	}
}

// desired converts rendered objects to typed policies carrying the
// ApplySet membership labels.
func (a *Applier) desired(namespace string, objs []baseline.Object) ([]desired, error) {
	out := make([]desired, 0, len(objs))
	for _, o := range objs {
		if o.GetKind() != "NetworkPolicy" || o.GroupVersionKind().Group != "networking.k8s.io" {
			return nil, &baseline.InputError{Err: fmt.Errorf("%s/%s in namespace %s: apply only handles NetworkPolicies (networking.k8s.io)", o.GetKind(), o.GetName(), namespace)}
		}
		np := &networkingv1.NetworkPolicy{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, np, true); err != nil {
			return nil, &baseline.InputError{Err: fmt.Errorf("networkpolicy %s: %w", o.GetName(), err)}
		}
		np.Namespace = namespace
		if np.Labels == nil {
			np.Labels = map[string]string{}
		}
		np.Labels[ownership.ApplySetPartOf] = ownership.ApplySetID(namespace)
		np.Labels[ownership.ManagedByLabel] = ownership.ManagedByValue
		np.TypeMeta = metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"}
		out = append(out, desired{obj: o, np: np})
	}
	return out, nil
}

func (a *Applier) livePolicies(ctx context.Context, namespace string) (map[string]*networkingv1.NetworkPolicy, error) {
	list, err := a.Client.NetworkingV1().NetworkPolicies(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, apiError(err, "list", "networkpolicies", namespace)
	}
	live := make(map[string]*networkingv1.NetworkPolicy, len(list.Items))
	for i := range list.Items {
		live[list.Items[i].Name] = &list.Items[i]
	}
	return live, nil
}

// checkOwnership refuses same-named policies that are not ours unless
// forced, and notes other owners (Argo CD, Kyverno, operators).
func (a *Applier) checkOwnership(namespace string, want []desired, live map[string]*networkingv1.NetworkPolicy, report *Outcome) ([]*networkingv1.NetworkPolicy, error) {
	var foreign []*networkingv1.NetworkPolicy
	var described []string
	for _, d := range want {
		cur, ok := live[d.np.Name]
		if !ok {
			continue
		}
		owner := otherOwner(cur)
		if ownership.IsMember(cur) {
			if owner != "" {
				report.Warnings = append(report.Warnings, fmt.Sprintf("networkpolicy %s/%s is also managed by %s, which may revert this apply; commit the init tree to its source instead", namespace, cur.Name, owner))
			}
			if others := changedBy(cur, a.manager()); len(others) > 0 {
				described = append(described, fmt.Sprintf("%s (ours, but since changed by %s)", cur.Name, strings.Join(others, ", ")))
			}
			continue
		}
		foreign = append(foreign, cur)
		desc := fmt.Sprintf("%s (written by %s)", cur.Name, fieldManagers(cur))
		if owner != "" {
			desc += fmt.Sprintf("; managed by %s: commit the init tree there instead", owner)
		}
		described = append(described, desc)
	}
	for _, np := range live {
		if owner := otherOwner(np); owner != "" && !ownership.IsMember(np) && findDesired(want, np.Name) == nil {
			report.Warnings = append(report.Warnings, fmt.Sprintf("namespace %s has NetworkPolicy %s managed by %s; policies there are under another tool's control, so prefer committing the init tree to it", namespace, np.Name, owner))
		}
	}
	sort.Strings(report.Warnings)
	if len(described) > 0 && !a.ForceConflicts {
		return nil, &ConflictError{Namespace: namespace, Foreign: described}
	}
	for _, np := range foreign {
		report.Warnings = append(report.Warnings, "taking over "+np.Name+" (written by "+fieldManagers(np)+"); saved in ConfigMap "+ownership.BackupName)
	}
	return foreign, nil
}

// ssa sends one server-side apply.
func (a *Applier) ssa(ctx context.Context, np *networkingv1.NetworkPolicy, dryRun, force bool) (*networkingv1.NetworkPolicy, error) {
	raw, err := json.Marshal(np)
	if err != nil {
		return nil, err
	}
	ac := &networkingv1ac.NetworkPolicyApplyConfiguration{}
	if err := json.Unmarshal(raw, ac); err != nil {
		return nil, err
	}
	opts := metav1.ApplyOptions{FieldManager: a.manager(), Force: force}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	return a.Client.NetworkingV1().NetworkPolicies(np.Namespace).Apply(ctx, ac, opts)
}

func (a *Applier) manager() string {
	if a.FieldManager == "" {
		return ownership.FieldManager
	}
	return a.FieldManager
}

func backupKey(name string) string { return "networkpolicy." + name + ".yaml" }

// cleanForRestore keeps what a re-create needs: identity, labels and
// annotations (last-applied-configuration included, so the owner's next
// kubectl apply still computes the right patch) and the spec.
func cleanForRestore(np *networkingv1.NetworkPolicy) *networkingv1.NetworkPolicy {
	out := &networkingv1.NetworkPolicy{
		TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{
			Name: np.Name, Namespace: np.Namespace,
			Labels: np.Labels, Annotations: np.Annotations, OwnerReferences: np.OwnerReferences,
		},
		Spec: np.Spec,
	}
	return out
}

// pruneCandidates are members that are no longer rendered.
func (a *Applier) pruneCandidates(namespace string, want []desired, live map[string]*networkingv1.NetworkPolicy) []Result {
	if !a.Prune {
		return nil
	}
	var out []Result
	for name, np := range live {
		if ownership.IsMember(np) && findDesired(want, name) == nil {
			out = append(out, Result{Namespace: namespace, Name: name, Op: Pruned, Object: np})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// classify compares the live object with the result of the apply.
func classify(before, after *networkingv1.NetworkPolicy) Op {
	switch {
	case before == nil:
		return Created
	case after != nil && samePolicy(before, after):
		return Unchanged
	}
	return Configured
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func findDesired(want []desired, name string) *networkingv1.NetworkPolicy {
	for _, d := range want {
		if d.np.Name == name {
			return d.np
		}
	}
	return nil
}

func toObjects(want []desired) []baseline.Object {
	out := make([]baseline.Object, 0, len(want))
	for _, d := range want {
		out = append(out, d.obj)
	}
	return out
}

func names(objs []baseline.Object) string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetName())
	}
	return strings.Join(out, ", ")
}

func apiError(err error, verb, resource, namespace string) error {
	return read.WrapAPI(err, verb, resource, namespace)
}
