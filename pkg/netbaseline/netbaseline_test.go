package netbaseline_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netbaseline/kubectl-netbaseline/pkg/netbaseline"
)

func TestLoadFilesAndExplain(t *testing.T) {
	s, err := netbaseline.LoadFiles([]string{filepath.Join("..", "..", "testdata", "sample-app.yaml")}, netbaseline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := s.Explain("frontend-dev", "backend-dev/svc/backend:80")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].Verdict != "allowed" || vs[0].Port != 3001 || vs[0].Egress == nil || vs[0].Egress.Tier != "none" {
		t.Fatalf("no policy: %+v", vs)
	}
}

// Questions that cannot be asked are QuestionErrors, never a verdict.
func TestQuestionErrors(t *testing.T) {
	s := load()
	for _, q := range [][]string{
		{"frontend/web-0", "backend/nope"},
		{"frontend/web-0:80", "backend/api-0"},
		{"frontend/web-0", "backend/api-0", "grpc"},
		{"frontend/web-0", "backend/api-0", "80/icmp"},
		{"", "backend"},
		{"frontend/web-0", "backend/api-0:80", "80"},
	} {
		_, err := s.Explain(q[0], q[1], q[2:]...)
		var qe *netbaseline.QuestionError
		if !errors.As(err, &qe) {
			t.Errorf("%v: %v, want a QuestionError", q, err)
		}
	}
}

// A derived snapshot leaves its origin as it was, and answers are the
// caller's own.
func TestSnapshotsStayAsTheyWere(t *testing.T) {
	s := load()
	before, err := s.Explain("frontend/web-0", "backend/api-0")
	if err != nil {
		t.Fatal(err)
	}
	before[0].Ingress.IsolatedBy[0] = "changed by the caller"
	_ = s.WithNetworkPolicies(map[string][]networkingv1.NetworkPolicy{"aaa": {{ObjectMeta: metav1.ObjectMeta{Name: "x"}}}, "ccc": nil})
	again, err := s.Explain("frontend/web-0", "backend/api-0")
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Ingress.IsolatedBy[0] != "allow-from-frontend" {
		t.Errorf("the engine's list was changed through an answer: %v", again[0].Ingress.IsolatedBy)
	}
	if _, err := s.Explain("backend/api-0", "frontend/web-0:8080"); err != nil {
		t.Errorf("the snapshot changed with WithNetworkPolicies: %v", err)
	}
	if _, err := netbaseline.FlowChanges(s, load()); err == nil {
		t.Error("FlowChanges compared snapshots of two reads")
	}
	if _, err := netbaseline.LoadFiles([]string{"-"}, netbaseline.LoadOptions{}); err == nil {
		t.Error(`LoadFiles read "-"`)
	}
}

// A bounded read refuses what is larger, and a bad manifest is an error.
func TestLoadRefuses(t *testing.T) {
	if _, err := netbaseline.LoadReader(strings.NewReader(shop), netbaseline.LoadOptions{MaxInputSize: 100}); err == nil {
		t.Error("a stream over MaxInputSize was read")
	}
	if _, err := netbaseline.LoadReader(strings.NewReader("a: 1\na: 2\n"), netbaseline.LoadOptions{}); err == nil {
		t.Error("a duplicate key was read")
	}
}

// Matrix stops at yield's error and at a cancelled context.
func TestMatrixStops(t *testing.T) {
	s := load()
	stop := errors.New("stop")
	n := 0
	if err := s.Matrix(context.Background(), nil, func(netbaseline.Verdict) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("yield's error: %v after %d", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Matrix(ctx, []string{"backend"}, func(netbaseline.Verdict) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
