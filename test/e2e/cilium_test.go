//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The agent's own view of what it enforces, read with cilium-dbg in its
// pod: the endpoints (identity labels, state, realized policy revision)
// and the policy repository's revision.

type ciliumEndpoint struct {
	Status struct {
		State    string `json:"state"`
		Identity struct {
			Labels []string `json:"labels"`
		} `json:"identity"`
		Networking struct {
			Addressing []struct {
				IPv4 string `json:"ipv4"`
			} `json:"addressing"`
		} `json:"networking"`
		Policy struct {
			Realized struct {
				Revision uint64 `json:"policy-revision"`
			} `json:"realized"`
		} `json:"policy"`
	} `json:"status"`
}

func ciliumDbg(ctx context.Context, args ...string) (string, error) {
	o := runCmd(ctx, "", kubectl, append([]string{"-n", "kube-system", "exec", "ds/cilium", "-c", "cilium-agent", "--", "cilium-dbg"}, args...)...)
	if o.err != nil {
		return "", fmt.Errorf("cilium-dbg %s: %v: %s", strings.Join(args, " "), o.err, o.stderr)
	}
	return o.stdout, nil
}

// ciliumRealized reports what the agent has not realized yet ("" when
// it enforces the cluster as it is now): every fleet pod's endpoint
// ready, its identity labelled with the pod's and its namespace's current
// labels, its realized policy at the repository's revision.
func ciliumRealized(ctx context.Context, cs kubernetes.Interface, fleet []fleetPod) (string, error) {
	raw, err := ciliumDbg(ctx, "policy", "get", "-o", "json")
	if err != nil {
		return "", err
	}
	var repo struct {
		Revision uint64 `json:"revision"`
	}
	if err := json.Unmarshal([]byte(raw), &repo); err != nil {
		return "", fmt.Errorf("cilium-dbg policy get: %v", err)
	}
	if raw, err = ciliumDbg(ctx, "endpoint", "list", "-o", "json"); err != nil {
		return "", err
	}
	var endpoints []ciliumEndpoint
	if err := json.Unmarshal([]byte(raw), &endpoints); err != nil {
		return "", fmt.Errorf("cilium-dbg endpoint list: %v", err)
	}
	byIP := map[string]*ciliumEndpoint{}
	for i := range endpoints {
		for _, a := range endpoints[i].Status.Networking.Addressing {
			byIP[a.IPv4] = &endpoints[i]
		}
	}
	for _, p := range fleet {
		want, err := identityLabels(ctx, cs, p)
		if err != nil {
			return "", err
		}
		ep := byIP[p.IP.String()]
		switch {
		case ep == nil:
			return p.key() + ": no endpoint", nil
		case ep.Status.State != "ready":
			return p.key() + ": endpoint " + ep.Status.State, nil
		case ep.Status.Policy.Realized.Revision < repo.Revision:
			return fmt.Sprintf("%s: policy revision %d of %d", p.key(), ep.Status.Policy.Realized.Revision, repo.Revision), nil
		case userLabels(ep.Status.Identity.Labels) != want:
			return fmt.Sprintf("%s: identity %s, labels now %s", p.key(), userLabels(ep.Status.Identity.Labels), want), nil
		}
	}
	return "", nil
}

// identityLabels are the pod's and its namespace's labels as Cilium's
// identity carries them, sorted and joined.
func identityLabels(ctx context.Context, cs kubernetes.Interface, p fleetPod) (string, error) {
	pod, err := cs.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, p.Namespace, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	var labels []string
	for k, v := range pod.Labels {
		labels = append(labels, "k8s:"+k+"="+v)
	}
	for k, v := range ns.Labels {
		labels = append(labels, "k8s:io.cilium.k8s.namespace.labels."+k+"="+v)
	}
	return userLabels(labels), nil
}

// userLabels keeps the labels that come from the pod and its namespace
// (not Cilium's own: the namespace name, service account, cluster, the
// named ports).
func userLabels(labels []string) string {
	var kept []string
	for _, l := range labels {
		if !strings.HasPrefix(l, "k8s:") || strings.HasPrefix(l, "k8s:io.kubernetes.") || strings.HasPrefix(l, "k8s:io.cilium.k8s.policy.") ||
			strings.HasPrefix(l, "k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=") {
			continue
		}
		kept = append(kept, l)
	}
	sort.Strings(kept)
	return strings.Join(kept, ",")
}

// waitCiliumRealized waits (up to two minutes) until the agent enforces
// the fleet's labels and policies as they are now.
func waitCiliumRealized(t *testing.T, ctx context.Context, cs kubernetes.Interface, fleet []fleetPod) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		pending, err := ciliumRealized(ctx, cs, fleet)
		if err != nil {
			t.Fatal(err)
		}
		if pending == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Cilium has not realized the case after 2 minutes: %s", pending)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// settleTimeout is apply --verify's --settle-timeout for the tests: how
// long a mismatch is retried. Cilium regenerates every endpoint after each
// policy write, and with a dozen writes on this 2-core machine under the
// tests' load, realizing the last of them took more than 4 s (a probe saw
// the bridge's allow still in place), so Cilium gets the product's
// order of magnitude; the iptables engines apply a change within 0.2 s.
func settleTimeout() string {
	if engine, _ := clusterEngine(); engine == "Cilium" {
		return "15s"
	}
	return "4s"
}
