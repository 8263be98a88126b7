package netbaseline_test

import (
	"context"
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netbaseline/kubectl-netbaseline/pkg/netbaseline"
)

// A frontend and a backend; the backend's namespace allows ingress only
// from the frontend's, on the port named http.
const shop = `
apiVersion: v1
kind: Pod
metadata: {name: web-0, namespace: frontend, labels: {app: web}}
spec:
  containers: [{name: web, image: web, ports: [{name: http, containerPort: 8080}]}]
status: {podIP: 198.18.0.10}
---
apiVersion: v1
kind: Pod
metadata: {name: api-0, namespace: backend, labels: {app: api}}
spec:
  containers: [{name: api, image: api, ports: [{name: http, containerPort: 3001}, {name: metrics, containerPort: 9090}]}]
status: {podIP: 198.18.0.20}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-from-frontend, namespace: backend}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: frontend}}}]
    ports: [{port: http}]
`

func load() *netbaseline.Snapshot {
	s, err := netbaseline.LoadReader(strings.NewReader(shop), netbaseline.LoadOptions{})
	if err != nil {
		panic(err)
	}
	return s
}

// Ask whether one pod may reach another, and why.
func ExampleSnapshot_Explain() {
	s := load()
	verdicts, err := s.Explain("frontend/web-0", "backend/api-0")
	if err != nil {
		panic(err)
	}
	for _, v := range verdicts {
		fmt.Printf("%s -> %s %d/%s: %s (%s)\n", v.From, v.To, v.Port, v.Protocol, v.Verdict, v.Reason)
	}
	// Output:
	// frontend/web-0 -> backend/api-0 3001/TCP: allowed (egress: not isolated; ingress: allowed by allow-from-frontend[0])
	// frontend/web-0 -> backend/api-0 9090/TCP: denied (egress: not isolated; ingress: denied (isolated by allow-from-frontend; no rule matches))
}

// Stream every pair of groups of pods.
func ExampleSnapshot_Matrix() {
	s := load()
	err := s.Matrix(context.Background(), nil, func(v netbaseline.Verdict) error {
		if v.Verdict == "allowed" && v.From != v.To {
			fmt.Printf("%s -> %s %s\n", v.From, v.To, v.PortName)
		}
		return nil
	})
	if err != nil {
		panic(err)
	}
	// Output:
	// frontend/web-0 -> backend/api-0 http
	// backend/api-0 -> frontend/web-0 http
}

// What a change of policies would do, before it is applied.
func ExampleFlowChanges() {
	before := load()
	deny := networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny-all"},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
	after := before.WithNetworkPolicies(map[string][]networkingv1.NetworkPolicy{"backend": {deny}})
	changes, err := netbaseline.FlowChanges(before, after, "backend")
	if err != nil {
		panic(err)
	}
	for _, c := range changes {
		fmt.Printf("%s -> %s %s: %s, then %s\n", c.From, c.To, c.PortName, c.Before, c.After)
	}
	// Output:
	// frontend/web-0 -> backend/api-0 http: allowed, then denied
}
