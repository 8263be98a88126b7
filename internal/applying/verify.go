package applying

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/doctor"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/flowdiff"
	"github.com/netbaseline/kubectl-netbaseline/internal/inventory"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/verify"
)

// Verification is apply --verify: each namespace is probed once its new
// state has taken effect; a mismatch makes apply undo the whole run.
type Verification struct {
	// Canary measures enforcement with throw-away pods instead of
	// trusting doctor's detection.
	Canary       bool
	DenyMode     string // auto, drop or reject
	Settle       time.Duration
	MaxChecks    int
	CheckTimeout time.Duration
	Image        string
	// Save is a file for the probe results (none when empty).
	Save string
	// SystemPods lets checks run from pods of the system namespaces.
	SystemPods bool

	// Engines reads what doctor detects the enforcer from.
	Engines func(ctx context.Context) (*inventory.Snapshot, error)
	// RunCanary runs doctor's canary.
	RunCanary func(ctx context.Context) doctor.Finding
	// Load reads the model of the namespaces the prediction needs.
	Load      func(ctx context.Context, namespaces []string) (*model.Model, error)
	Prober    verify.Prober
	WriteFile func(name string, data []byte) error
	Now       func() time.Time
	// Log receives the verifier's progress (indented under apply's).
	Log io.Writer
}

func (v *Verification) run(ctx context.Context, applier *apply.Applier, c Config) ([]*networkingv1.NetworkPolicy, error) {
	engines, err := v.checkEnforcement(ctx, c.ErrOut)
	if err != nil {
		return nil, err
	}
	snapshot, err := v.Load(ctx, c.Namespaces)
	if err != nil {
		return nil, err
	}
	if snapshot.PoliciesPartial {
		return nil, exit.Failedf("--verify refused, nothing was applied: the cluster's NetworkPolicies could not all be read, so the engine cannot predict what each phase changes (grant list on networkpolicies cluster-wide)")
	}
	// Pods, Services or namespace labels it could not read would leave
	// out connections to check: a verification that passes on them would
	// be a false pass.
	if err := flowdiff.Unknown(snapshot, policy.New(snapshot)); err != nil {
		return nil, exit.Failedf("--verify refused, nothing was applied: %w", errors.Unwrap(err))
	}
	verifier := verify.New(snapshot, v.Prober)
	verifier.Mode, verifier.Settle, verifier.MaxChecks, verifier.CheckTimeout, verifier.Log = doctor.DenyMode(v.DenyMode, engines), v.Settle, v.MaxChecks, v.CheckTimeout, v.Log
	verifier.SystemPods = v.SystemPods
	fmt.Fprintf(c.ErrOut, "Verifying each namespace with probes (deny mode %s, image %s)\n", verifier.Mode, v.Image)
	applier.Verify = func(ctx context.Context, p *apply.NamespacePlan) error {
		return verifier.Namespace(ctx, p.Namespace, p.Transition.After)
	}
	written, applyErr := c.applyAll(ctx, applier)
	if v.Save != "" {
		if err := v.save(verifier.Mode, verifier.Observations); err != nil {
			fmt.Fprintf(c.ErrOut, "Warning: --save: %v\n", err)
		}
	}
	if applyErr == nil {
		fmt.Fprintf(c.ErrOut, "Verified: %s\n", verify.Summarize(verifier.Observations))
	}
	return written, applyErr
}

// checkEnforcement refuses --verify when nothing enforces NetworkPolicy:
// the probes would pass or fail for reasons that have nothing to do with
// the policies. The canary measures enforcement instead of trusting
// doctor.
func (v *Verification) checkEnforcement(ctx context.Context, log io.Writer) ([]doctor.Engine, error) {
	snap, err := v.Engines(ctx)
	if err != nil {
		return nil, err
	}
	engines, _ := doctor.CheckEngines(snap)
	if v.Canary {
		f := v.RunCanary(ctx)
		if f.Severity != doctor.Pass {
			return nil, exit.Failedf("--verify refused, nothing was applied: the canary did not prove enforcement: %s", f.Message)
		}
		fmt.Fprintf(log, "Canary: %s\n", f.Message)
		return engines, nil
	}
	if len(engines) == 0 {
		why := "no NetworkPolicy engine was found (doctor ENGINE-001)"
		if _, unreadable := snap.Unreadable["daemonsets"]; unreadable {
			why = "the NetworkPolicy engine could not be detected (listing DaemonSets is forbidden)"
		}
		return nil, exit.Failedf("--verify refused, nothing was applied: %s, so probes could not tell whether the policies work; install one (kubectl netbaseline doctor says how), or add --canary to measure enforcement", why)
	}
	names := make([]string, 0, len(engines))
	for _, e := range engines {
		names = append(names, e.Name)
	}
	fmt.Fprintf(log, "Enforcement: %s (doctor)\n", strings.Join(names, ", "))
	return engines, nil
}

// save writes the probe results, passed or not, in probe --save's format.
func (v *Verification) save(mode probe.DenyMode, obs []probe.Observation) error {
	res := probe.NewDocument(mode, v.Image, obs)
	res.ProbedAt = v.Now().UTC().Format(time.RFC3339)
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return v.WriteFile(v.Save, append(b, '\n'))
}
