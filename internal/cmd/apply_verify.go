package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/canary"
	"github.com/netbaseline/kubectl-netbaseline/internal/doctor"
	"github.com/netbaseline/kubectl-netbaseline/internal/flowdiff"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
	"github.com/netbaseline/kubectl-netbaseline/internal/verify"
)

// checkEnforcement refuses --verify when nothing enforces NetworkPolicy:
// the probes would pass or fail for reasons that have nothing to do with
// the policies. --canary measures enforcement instead of trusting doctor.
func (o *ApplyOptions) checkEnforcement(ctx context.Context, clients read.Clients) ([]doctor.Engine, error) {
	snap, err := read.Engines(ctx, clients)
	if err != nil {
		return nil, err
	}
	engines, _ := doctor.CheckEngines(snap)
	var names []string
	for _, e := range engines {
		names = append(names, e.Name)
	}
	if o.Canary {
		f := canary.Run(ctx, clients.Kube, canary.Options{Image: o.Image, PullPolicy: corev1.PullPolicy(o.PullPolicy), Wait: o.WaitTimeout, Log: o.ErrOut})
		if f.Severity != doctor.Pass {
			return nil, &ExitError{Code: ExitFailed, Err: fmt.Errorf("--verify refused, nothing was applied: the canary did not prove enforcement: %s", f.Message)}
		}
		fmt.Fprintf(o.ErrOut, "Canary: %s\n", f.Message)
		return engines, nil
	}
	if len(engines) == 0 {
		_, unreadable := snap.Unreadable["daemonsets"]
		why := "no NetworkPolicy engine was found (doctor ENGINE-001)"
		if unreadable {
			why = "the NetworkPolicy engine could not be detected (listing DaemonSets is forbidden)"
		}
		return nil, &ExitError{Code: ExitFailed, Err: fmt.Errorf("--verify refused, nothing was applied: %s, so probes could not tell whether the policies work; install one (kubectl netbaseline doctor says how), or add --canary to measure enforcement", why)}
	}
	fmt.Fprintf(o.ErrOut, "Enforcement: %s (doctor)\n", strings.Join(names, ", "))
	return engines, nil
}

// runVerified applies namespace by namespace and probes each once its new
// state has taken effect; a mismatch makes the apply undo the whole run.
func (o *ApplyOptions) runVerified(ctx context.Context, clients read.Clients, applier *apply.Applier, rendered map[string][]baseline.Object) error {
	engines, err := o.checkEnforcement(ctx, clients)
	if err != nil {
		return err
	}
	snapshot, err := read.LoadLive(ctx, clients, read.LiveOptions{Namespaces: o.namespaces})
	if err != nil {
		return err
	}
	if snapshot.PoliciesPartial {
		return &ExitError{Code: ExitFailed, Err: errors.New("--verify refused, nothing was applied: the cluster's NetworkPolicies could not all be read, so the engine cannot predict what each phase changes (grant list on networkpolicies cluster-wide)")}
	}
	// Pods, Services or namespace labels it could not read would leave
	// out connections to check: a verification that passes on them would
	// be a false pass.
	if err := flowdiff.Unknown(snapshot, policy.New(snapshot)); err != nil {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("--verify refused, nothing was applied: %w", errors.Unwrap(err))}
	}
	v := verify.New(snapshot, clusterProber{settings: &o.probeSettings, clients: clients})
	v.Mode, v.Settle, v.MaxChecks, v.CheckTimeout, v.Log = doctor.DenyMode(o.DenyMode, engines), o.VerifySettle, o.VerifyMaxChecks, o.Timeout, prefixed{o.ErrOut}
	fmt.Fprintf(o.ErrOut, "Verifying each namespace with probes (deny mode %s, image %s)\n", v.Mode, o.Image)
	applier.Verify = func(ctx context.Context, p *apply.NamespacePlan) error {
		return v.Namespace(ctx, p.Namespace, p.Transition.After)
	}
	applyErr := o.applyAll(ctx, applier, rendered)
	if o.Save != "" {
		if err := saveObservations(o.Save, v.Mode, o.Image, v.Observations); err != nil {
			fmt.Fprintf(o.ErrOut, "Warning: --save: %v\n", err)
		}
	}
	if applyErr == nil {
		fmt.Fprintf(o.ErrOut, "Verified: %s\n", verify.Summarize(v.Observations))
	}
	return applyErr
}

// saveObservations writes probe results, passed or not, in probe
// --save's format.
func saveObservations(path string, mode probe.DenyMode, image string, obs []probe.Observation) error {
	res := probe.NewDocument(mode, image, obs)
	res.ProbedAt = time.Now().UTC().Format(time.RFC3339)
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// clusterProber runs plans through ephemeral containers (or pods), as
// probe does.
type clusterProber struct {
	settings *probeSettings
	clients  read.Clients
}

func (p clusterProber) Run(ctx context.Context, plans []probe.SourcePlan, mode probe.DenyMode, log io.Writer) []probe.Observation {
	return p.settings.runPlans(ctx, p.clients, plans, mode, log)
}
