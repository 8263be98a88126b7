package apply

import (
	"context"
	"fmt"
	"sort"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// RollbackPlan is what a rollback deletes and restores.
type RollbackPlan struct {
	Namespace string
	// Members are the ApplySet's NetworkPolicies, by name.
	Members []string
	// HasParent: the ConfigMap netbaseline-applyset exists.
	HasParent bool
	// Restore are the saved foreign policies.
	Restore []*networkingv1.NetworkPolicy
	// HasBackup: the ConfigMap netbaseline-backup exists.
	HasBackup bool
}

// Empty reports whether there is nothing to roll back.
func (p *RollbackPlan) Empty() bool {
	return len(p.Members) == 0 && !p.HasParent && len(p.Restore) == 0 && !p.HasBackup
}

// PlanRollback finds the ApplySet's members (by label, never by name) and
// the saved foreign policies.
func (a *Applier) PlanRollback(ctx context.Context, namespace string) (*RollbackPlan, error) {
	plan := &RollbackPlan{Namespace: namespace}
	list, err := a.Client.NetworkingV1().NetworkPolicies(namespace).List(ctx, metav1.ListOptions{LabelSelector: ApplySetPartOf + "=" + ApplySetID(namespace)})
	if err != nil {
		return nil, apiError(err, "list", "networkpolicies", namespace)
	}
	for _, np := range list.Items {
		plan.Members = append(plan.Members, np.Name)
	}
	sort.Strings(plan.Members)
	if _, err := a.Client.CoreV1().ConfigMaps(namespace).Get(ctx, ParentName, metav1.GetOptions{}); err == nil {
		plan.HasParent = true
	} else if !apierrors.IsNotFound(err) {
		return nil, apiError(err, "get", "configmaps", namespace)
	}
	cm, err := a.Client.CoreV1().ConfigMaps(namespace).Get(ctx, BackupName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, apiError(err, "get", "configmaps", namespace)
	default:
		plan.HasBackup = true
		keys := make([]string, 0, len(cm.Data))
		for k := range cm.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			np := &networkingv1.NetworkPolicy{}
			if err := yaml.UnmarshalStrict([]byte(cm.Data[k]), np); err != nil {
				return nil, fmt.Errorf("ConfigMap %s/%s key %s is not a NetworkPolicy: %w", namespace, BackupName, k, err)
			}
			np.Namespace = namespace
			plan.Restore = append(plan.Restore, np)
		}
	}
	return plan, nil
}

// Rollback deletes exactly the plan's members and parent, restores the
// saved policies and removes the backup. It deletes nothing else.
func (a *Applier) Rollback(ctx context.Context, plan *RollbackPlan) ([]Result, error) {
	ns := plan.Namespace
	var del metav1.DeleteOptions
	var create metav1.CreateOptions
	if a.DryRun == DryRunServer {
		del.DryRun = []string{metav1.DryRunAll}
		create.DryRun = []string{metav1.DryRunAll}
	}
	var results []Result
	for _, name := range plan.Members {
		if err := ctx.Err(); err != nil {
			return results, err
		}
		if a.DryRun != DryRunClient {
			err := a.Client.NetworkingV1().NetworkPolicies(ns).Delete(ctx, name, del)
			if err != nil && !apierrors.IsNotFound(err) {
				return results, apiError(err, "delete", "networkpolicies", ns)
			}
		}
		results = append(results, Result{Namespace: ns, Name: name, Op: Deleted})
	}
	for _, np := range plan.Restore {
		if a.DryRun != DryRunClient {
			restored := np.DeepCopy()
			restored.ResourceVersion = ""
			if _, err := a.Client.NetworkingV1().NetworkPolicies(ns).Create(ctx, restored, create); err != nil {
				if apierrors.IsAlreadyExists(err) && a.DryRun == DryRunServer && contains(plan.Members, np.Name) {
					// In a dry run the member still exists; the real run deletes it first.
				} else {
					return results, apiError(err, "create", "networkpolicies", ns)
				}
			}
		}
		results = append(results, Result{Namespace: ns, Name: np.Name, Op: Restored, Object: np})
	}
	for _, cm := range []struct {
		name   string
		exists bool
	}{{BackupName, plan.HasBackup}, {ParentName, plan.HasParent}} {
		if !cm.exists || a.DryRun == DryRunClient {
			continue
		}
		err := a.Client.CoreV1().ConfigMaps(ns).Delete(ctx, cm.name, del)
		if err != nil && !apierrors.IsNotFound(err) {
			return results, apiError(err, "delete", "configmaps", ns)
		}
	}
	return results, nil
}

// RollbackCommand is the plain kubectl equivalent of a rollback, for the
// runbook's task log.
func RollbackCommand(plan *RollbackPlan) string {
	var lines []string
	if len(plan.Members) > 0 {
		lines = append(lines, fmt.Sprintf("kubectl delete networkpolicy -n %s %s", plan.Namespace, strings.Join(plan.Members, " ")))
	}
	var cms []string
	if plan.HasParent {
		cms = append(cms, ParentName)
	}
	if len(plan.Restore) > 0 {
		var saved []string
		for _, np := range plan.Restore {
			saved = append(saved, np.Name)
		}
		lines = append(lines, fmt.Sprintf("# restoring the saved foreign policies (%s) needs: kubectl netbaseline rollback -n %s", strings.Join(saved, ", "), plan.Namespace))
	} else if plan.HasBackup {
		cms = append(cms, BackupName)
	}
	if len(cms) > 0 {
		lines = append(lines, fmt.Sprintf("kubectl delete configmap -n %s %s", plan.Namespace, strings.Join(cms, " ")))
	}
	return strings.Join(lines, "\n")
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
