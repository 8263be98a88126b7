package applying

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/doctor"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/inventory"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/verify"
)

// The refusals of --verify come before any write: the applier here has no
// client, so any attempt to plan or write would panic. The writes
// themselves are tested against a real kube-apiserver (internal/apply,
// internal/cmd's integration tests).

type noProbes struct{}

func (noProbes) Run(context.Context, []probe.SourcePlan, probe.DenyMode, io.Writer) []probe.Observation {
	panic("no probe may run")
}

func verification(snap *inventory.Snapshot, canary doctor.Severity, m *model.Model) (*Verification, *int) {
	loads := 0
	return &Verification{
		DenyMode: "auto", Settle: time.Second, MaxChecks: 10, CheckTimeout: time.Second, Image: "probe@sha256:0",
		Engines: func(context.Context) (*inventory.Snapshot, error) { return snap, nil },
		RunCanary: func(context.Context) doctor.Finding {
			return doctor.Finding{Severity: canary, Message: "canary says " + string(canary)}
		},
		Load: func(context.Context, []string) (*model.Model, error) {
			loads++
			return m, nil
		},
		Prober: noProbes{}, Log: io.Discard,
		WriteFile: func(string, []byte) error { return nil }, Now: time.Now,
	}, &loads
}

func TestVerifyIsRefusedBeforeAnyWrite(t *testing.T) {
	nothing := &inventory.Snapshot{Unreadable: map[string]string{}}
	forbidden := &inventory.Snapshot{Unreadable: map[string]string{"daemonsets": "forbidden"}}
	partial := &model.Model{PoliciesPartial: true}
	unreadPods := &model.Model{}
	unreadPods.MarkUnreadable("pods", "shop")
	for _, tt := range []struct {
		name   string
		snap   *inventory.Snapshot
		canary bool
		result doctor.Severity
		model  *model.Model
		want   string
	}{
		{"no engine", nothing, false, "", nil, "no NetworkPolicy engine was found"},
		{"engines not listable", forbidden, false, "", nil, "could not be detected (listing DaemonSets is forbidden)"},
		{"the canary fails", nothing, true, doctor.Fail, nil, "the canary did not prove enforcement: canary says fail"},
		{"policies partly read", nothing, true, doctor.Pass, partial, "NetworkPolicies could not all be read"},
		{"pods not read", nothing, true, doctor.Pass, unreadPods, `"list" on "pods" in namespace shop`},
	} {
		v, loads := verification(tt.snap, tt.result, tt.model)
		v.Canary = tt.canary
		var errOut bytes.Buffer
		_, err := Apply(context.Background(), &apply.Applier{}, Config{Namespaces: []string{"shop"}, Verify: v, Out: &bytes.Buffer{}, ErrOut: &errOut})
		if exit.StatusOf(err) != exit.Failed || !strings.Contains(err.Error(), "--verify refused, nothing was applied") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: want exit 1 %q, got %d: %v", tt.name, tt.want, exit.StatusOf(err), err)
		}
		if tt.model == nil && *loads != 0 {
			t.Errorf("%s: read the cluster after refusing", tt.name)
		}
	}
}

func TestExitStatusOfApplysErrors(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want int
	}{
		{&apply.NamespaceMissingError{Namespace: "shop"}, exit.Usage},
		{fmt.Errorf("wrapped: %w", &apply.UnverifiedError{Namespace: "shop", Err: errors.New("mesh")}), exit.Failed},
		{&verify.MismatchError{Namespace: "shop"}, exit.Unmet},
		{&verify.MismatchError{Namespace: "shop", CouldNotRun: true}, exit.Failed},
		{errors.New("the API server is gone"), exit.Failed},
	} {
		if got := exit.StatusOf(Exit(tt.err)); got != tt.want {
			t.Errorf("%T: exit %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestLayersTheProofCannotSeeStopTheRun(t *testing.T) {
	if l, err := Layers(&model.Model{}, io.Discard); l != nil || err != nil {
		t.Fatalf("no other layer: %v %v", l, err)
	}
	other := &model.Model{OtherLayers: []string{"CiliumNetworkPolicy"}, Warnings: []string{"1 CiliumNetworkPolicy"}}
	if _, err := Layers(other, io.Discard); exit.StatusOf(err) != exit.Failed || !strings.Contains(err.Error(), "cannot see what CiliumNetworkPolicy decide") {
		t.Fatalf("a layer the engine does not decide: %v", err)
	}
	cilium := &model.Model{CiliumPolicies: []*model.CiliumPolicy{{}}, Cilium: &model.CiliumInfo{Source: "Cilium's CRDs (cilium.io/v2) are served"}}
	if l, err := Layers(cilium, io.Discard); l == nil || err != nil || len(l.CiliumPolicies) != 1 || l.Cilium == nil {
		t.Fatalf("Cilium's policies are part of the proof: %+v %v", l, err)
	}
	var log bytes.Buffer
	eks := &model.Model{AWSPolicyMode: "standard"}
	if l, err := Layers(eks, &log); l == nil || err != nil || !strings.Contains(log.String(), "EKS network policy agent: standard mode") {
		t.Fatalf("the EKS agent's mode is part of the proof: %v %v %q", l, err, log.String())
	}
}

func TestDryRunSuffixIsKubectls(t *testing.T) {
	if DryRunSuffix(apply.DryRunClient) != " (dry run)" || DryRunSuffix(apply.DryRunServer) != " (server dry run)" || DryRunSuffix(apply.DryRunNone) != "" {
		t.Fatal("dry-run suffixes differ from kubectl's")
	}
}
