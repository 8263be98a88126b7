package apply

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

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
	gone := prunedPolicies(a.pruneCandidates(namespace, want, live))
	if !a.Prune { // pruning lists them already
		gone = append(gone, leftoverTemporaries(want, live)...)
	}
	for _, np := range gone {
		l, err := diffYAML(np)
		if err != nil {
			return nil, err
		}
		out = append(out, DiffEntry{Name: np.Name, Live: l})
	}
	return out, nil
}

func prunedPolicies(rs []Result) []*networkingv1.NetworkPolicy {
	out := make([]*networkingv1.NetworkPolicy, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Object)
	}
	return out
}

// leftoverTemporaries are the bridges and copies a killed run left, which
// the next apply deletes whatever --prune says: a diff that hid them would
// claim "no change" over a live allow-all.
func leftoverTemporaries(want []desired, live map[string]*networkingv1.NetworkPolicy) []*networkingv1.NetworkPolicy {
	var out []*networkingv1.NetworkPolicy
	for _, name := range slices.Sorted(maps.Keys(live)) {
		np := live[name]
		if isTemporary(np) && findDesired(want, name) == nil {
			out = append(out, np)
		}
	}
	return out
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

// WriteDiffTree writes, under dir, the LIVE and MERGED folders kubectl
// diff hands to the diff program: one file per policy an apply of the
// rendered objects would change, as it is and as it would be (absent on
// the side where it does not exist).
func (a *Applier) WriteDiffTree(ctx context.Context, namespaces []string, rendered map[string][]baseline.Object, dir string) (live, merged string, err error) {
	live, merged = filepath.Join(dir, "LIVE"), filepath.Join(dir, "MERGED")
	for _, d := range []string{live, merged} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return "", "", err
		}
	}
	for _, ns := range namespaces {
		entries, err := a.Diff(ctx, ns, rendered[ns])
		if err != nil {
			return "", "", err
		}
		for _, e := range entries {
			name := fmt.Sprintf("networking.k8s.io.v1.NetworkPolicy.%s.%s", ns, e.Name)
			for d, content := range map[string][]byte{live: e.Live, merged: e.Merged} {
				if content == nil {
					continue
				}
				if err := os.WriteFile(filepath.Join(d, name), content, 0o600); err != nil {
					return "", "", err
				}
			}
		}
	}
	return live, merged, nil
}
