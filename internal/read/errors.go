package read

import (
	"errors"
	"fmt"
	"regexp"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// APIError is an error from the API server, or the connection to it, with
// what was being done: an RBAC refusal names the verb and resource to
// grant. Every command reports API failures through it (exit 1).
type APIError struct {
	Verb, Resource string
	// Namespace is "" for a cluster-wide request.
	Namespace string
	Err       error
}

// deniedVerb finds the verb the server really checked (a server-side
// apply of a new object is authorised as create).
var deniedVerb = regexp.MustCompile(`cannot (\w+) resource`)

func (e *APIError) Error() string {
	where := ""
	if e.Namespace != "" {
		where = " in namespace " + e.Namespace
	}
	switch {
	case apierrors.IsForbidden(e.Err) && !deniedVerb.MatchString(e.Err.Error()):
		// Not RBAC: an admission webhook, Pod Security, a
		// ValidatingAdmissionPolicy or a terminating namespace refused it.
		return fmt.Sprintf("refused by the API server's admission (not an RBAC refusal: granting rights will not help) while trying to %s %s%s: %v", e.Verb, e.Resource, where, e.Err)
	case apierrors.IsForbidden(e.Err):
		verb := deniedVerb.FindStringSubmatch(e.Err.Error())[1]
		return fmt.Sprintf("forbidden: %s (grant it in a Role or ClusterRole, see docs/rbac.md): %v", model.RBACRefusal(verb, e.Resource, e.Namespace), e.Err)
	case apierrors.IsUnauthorized(e.Err):
		return fmt.Sprintf("unauthorized: the cluster rejected the credentials while trying to %s %s%s: %v", e.Verb, e.Resource, where, e.Err)
	}
	return fmt.Sprintf("cannot %s %s%s: %v", e.Verb, e.Resource, where, e.Err)
}

func (e *APIError) Unwrap() error { return e.Err }

// WrapAPI wraps err, unless it already says what was being done.
func WrapAPI(err error, verb, resource, namespace string) error {
	var already *APIError
	if err == nil || errors.As(err, &already) {
		return err
	}
	return &APIError{Verb: verb, Resource: resource, Namespace: namespace, Err: err}
}
