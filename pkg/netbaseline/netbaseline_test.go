package netbaseline_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

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
	} {
		_, err := s.Explain(q[0], q[1], q[2:]...)
		var qe *netbaseline.QuestionError
		if !errors.As(err, &qe) {
			t.Errorf("%v: %v, want a QuestionError", q, err)
		}
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
