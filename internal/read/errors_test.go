package read

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// An RBAC refusal names the verb and resource to grant; an admission
// refusal (a webhook, Pod Security, a terminating namespace) is a 403 as
// well, but is never sent to RBAC.
func TestForbiddenIsRBACOnlyWhenRBACSaysSo(t *testing.T) {
	np := schema.GroupResource{Group: "networking.k8s.io", Resource: "networkpolicies"}
	rbac := apierrors.NewForbidden(np, "x", errors.New(`User "dev" cannot patch resource "networkpolicies" in API group "networking.k8s.io" in the namespace "backend-dev"`))
	webhook := apierrors.NewForbidden(np, "x", errors.New(`admission webhook "validate.kyverno.svc" denied the request: require-labels`))
	terminating := apierrors.NewForbidden(np, "x", errors.New(`unable to create new content in namespace backend-dev because it is being terminated`))
	if got := WrapAPI(rbac, "create", "networkpolicies", "backend-dev").Error(); !strings.Contains(got, "RBAC does not allow") || !strings.Contains(got, `"patch"`) {
		t.Errorf("rbac: %s", got)
	}
	for _, err := range []error{webhook, terminating} {
		got := WrapAPI(err, "create", "networkpolicies", "backend-dev").Error()
		if strings.Contains(got, "RBAC does not allow") || !strings.Contains(got, "not an RBAC refusal") {
			t.Errorf("admission: %s", got)
		}
	}
}
