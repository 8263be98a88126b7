package apply

import (
	"context"
	"reflect"
	"sort"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// State is a namespace's NetworkPolicies and the plugin's ConfigMaps as
// they were before an apply, so that apply --verify can put them back.
type State struct {
	Namespace string
	Policies  map[string]*networkingv1.NetworkPolicy
	// Parent and Backup are nil when they did not exist.
	Parent, Backup *corev1.ConfigMap
}

// Capture reads a namespace's state.
func (a *Applier) Capture(ctx context.Context, namespace string) (*State, error) {
	live, err := a.livePolicies(ctx, namespace)
	if err != nil {
		return nil, err
	}
	st := &State{Namespace: namespace, Policies: live}
	for _, cm := range []struct {
		name string
		into **corev1.ConfigMap
	}{{ParentName, &st.Parent}, {BackupName, &st.Backup}} {
		got, err := a.Client.CoreV1().ConfigMaps(namespace).Get(ctx, cm.name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, apiError(err, "get", "configmaps", namespace)
		default:
			*cm.into = got
		}
	}
	return st, nil
}

// Restore puts a namespace back as Capture saw it: members of the ApplySet
// that did not exist are deleted, policies that changed get their old
// labels, annotations and spec back, deleted ones are recreated, and the
// ConfigMaps likewise. Policies the plugin never touched (not members, or
// unchanged) are left alone, even ones created since by someone else.
func (a *Applier) Restore(ctx context.Context, st *State) ([]Result, error) {
	ns := st.Namespace
	now, err := a.livePolicies(ctx, ns)
	if err != nil {
		return nil, err
	}
	var results []Result
	names := make([]string, 0, len(now))
	for name := range now {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, existed := st.Policies[name]; existed || !IsMember(now[name]) {
			continue
		}
		if err := a.Client.NetworkingV1().NetworkPolicies(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return results, apiError(err, "delete", "networkpolicies", ns)
		}
		results = append(results, Result{Namespace: ns, Name: name, Op: Deleted})
	}
	names = names[:0]
	for name := range st.Policies {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		was, cur := st.Policies[name], now[name]
		switch {
		case cur == nil:
			restored := cleanForRestore(was.DeepCopy())
			if _, err := a.Client.NetworkingV1().NetworkPolicies(ns).Create(ctx, restored, metav1.CreateOptions{FieldManager: a.manager()}); err != nil {
				return results, apiError(err, "create", "networkpolicies", ns)
			}
		case samePolicy(was, cur):
			continue
		default:
			back := cur.DeepCopy()
			back.Labels, back.Annotations, back.Spec = was.Labels, was.Annotations, was.Spec
			if _, err := a.Client.NetworkingV1().NetworkPolicies(ns).Update(ctx, back, metav1.UpdateOptions{FieldManager: a.manager()}); err != nil {
				return results, apiError(err, "update", "networkpolicies", ns)
			}
		}
		results = append(results, Result{Namespace: ns, Name: name, Op: Restored, Object: was})
	}
	for _, cm := range []struct {
		name string
		was  *corev1.ConfigMap
	}{{ParentName, st.Parent}, {BackupName, st.Backup}} {
		if err := a.restoreConfigMap(ctx, ns, cm.name, cm.was); err != nil {
			return results, err
		}
	}
	return results, nil
}

func (a *Applier) restoreConfigMap(ctx context.Context, ns, name string, was *corev1.ConfigMap) error {
	cms := a.Client.CoreV1().ConfigMaps(ns)
	cur, err := cms.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if was == nil {
			return nil
		}
		c := was.DeepCopy()
		c.ResourceVersion, c.UID, c.ManagedFields = "", "", nil
		if _, err := cms.Create(ctx, c, metav1.CreateOptions{FieldManager: a.manager()}); err != nil {
			return apiError(err, "create", "configmaps", ns)
		}
	case err != nil:
		return apiError(err, "get", "configmaps", ns)
	case was == nil:
		if err := cms.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return apiError(err, "delete", "configmaps", ns)
		}
	case !reflect.DeepEqual(cur.Data, was.Data) || !reflect.DeepEqual(cur.Labels, was.Labels) || !reflect.DeepEqual(cur.Annotations, was.Annotations):
		back := cur.DeepCopy()
		back.Data, back.Labels, back.Annotations = was.Data, was.Labels, was.Annotations
		if _, err := cms.Update(ctx, back, metav1.UpdateOptions{FieldManager: a.manager()}); err != nil {
			return apiError(err, "update", "configmaps", ns)
		}
	}
	return nil
}

func samePolicy(a, b *networkingv1.NetworkPolicy) bool {
	return reflect.DeepEqual(a.Spec, b.Spec) && reflect.DeepEqual(a.Labels, b.Labels) && reflect.DeepEqual(a.Annotations, b.Annotations)
}
