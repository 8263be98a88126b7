package apply

import (
	"context"
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
)

// DiffEntry is one object's live and would-be state, as YAML without
// server-managed fields; nil means absent.
type DiffEntry struct {
	Name         string
	Live, Merged []byte
}

// Diff computes what an apply would change: a server dry-run of every
// object against the live ones, and prune deletions when Prune is set.
// It writes nothing.
func (a *Applier) Diff(ctx context.Context, namespace string, objs []baseline.Object) ([]DiffEntry, error) {
	want, err := a.desired(namespace, objs)
	if err != nil {
		return nil, err
	}
	live, err := a.livePolicies(ctx, namespace)
	if err != nil {
		return nil, err
	}
	if _, err := a.checkOwnership(namespace, want, live, &Outcome{}); err != nil {
		return nil, err
	}
	var out []DiffEntry
	for _, d := range want {
		merged, err := a.ssa(ctx, d.np, true, true)
		if err != nil {
			return nil, fmt.Errorf("server dry-run of networkpolicy %s/%s: %w", namespace, d.np.Name, apiError(err, "patch", "networkpolicies", namespace))
		}
		e := DiffEntry{Name: d.np.Name}
		if e.Live, err = diffYAML(live[d.np.Name]); err != nil {
			return nil, err
		}
		if e.Merged, err = diffYAML(merged); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	for _, r := range a.pruneCandidates(namespace, want, live) {
		l, err := diffYAML(r.Object)
		if err != nil {
			return nil, err
		}
		out = append(out, DiffEntry{Name: r.Name, Live: l})
	}
	return out, nil
}

// diffYAML renders an object without the fields the server manages, as
// kubectl diff does.
func diffYAML(np *networkingv1.NetworkPolicy) ([]byte, error) {
	if np == nil {
		return nil, nil
	}
	c := np.DeepCopy()
	c.ManagedFields = nil
	c.ResourceVersion = ""
	c.Generation = 0
	c.UID = ""
	c.CreationTimestamp.Reset()
	c.APIVersion, c.Kind = "networking.k8s.io/v1", "NetworkPolicy"
	return yaml.Marshal(c)
}
