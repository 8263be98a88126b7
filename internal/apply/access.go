package apply

import (
	"context"
	"fmt"
	"sort"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/netbaseline/kubectl-netbaseline/internal/transition"
)

// AccessDeniedError reports that RBAC would refuse a write the plan needs; nothing was
// written.
type AccessDeniedError struct {
	Namespace string
	// Missing are the refused writes: `"update" on "configmaps"`.
	Missing []string
}

func (e *AccessDeniedError) Error() string {
	return fmt.Sprintf("forbidden: RBAC does not allow %s in namespace %s, which this change needs (grant them in a Role or ClusterRole, see docs/rbac.md); nothing was changed", strings.Join(e.Missing, ", "), e.Namespace)
}

// verbOf is the RBAC verb of each kind of write (a server-side apply is a
// patch; the server also asks create for a new object, which the dry run
// covers).
var verbOf = map[transition.Op]string{transition.Create: "create", transition.Apply: "patch", transition.Replace: "update", transition.Delete: "delete"}

// SelfAccessCheck asks the API server, before anything is written,
// whether the caller may make each kind of write the plan makes
// (SelfSubjectAccessReview, as kubectl auth can-i does).
func SelfAccessCheck(cs kubernetes.Interface) func(ctx context.Context, p *NamespacePlan) error {
	return func(ctx context.Context, p *NamespacePlan) error {
		need := map[[3]string]bool{} // group, resource, verb
		for _, s := range p.Transition.Steps {
			need[[3]string{"networking.k8s.io", "networkpolicies", verbOf[s.Op]}] = true
		}
		if p.Parent == nil || len(p.Takeovers) > 0 {
			need[[3]string{"", "configmaps", "create"}] = true // the parent, the backup
		}
		need[[3]string{"", "configmaps", "update"}] = true // the lease
		if p.Rollback {
			need[[3]string{"", "configmaps", "delete"}] = true
		}
		var missing []string
		for n := range need {
			review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: p.Namespace, Group: n[0], Resource: n[1], Verb: n[2]}}}
			got, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
			if err != nil {
				return apiError(err, "create", "selfsubjectaccessreviews", p.Namespace)
			}
			if !got.Status.Allowed {
				missing = append(missing, fmt.Sprintf("%q on %q", n[2], n[1]))
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			return &AccessDeniedError{Namespace: p.Namespace, Missing: missing}
		}
		return nil
	}
}
