package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/doctor"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe/launch"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
	"github.com/netbaseline/kubectl-netbaseline/internal/version"
)

// probeSettings are how probes run; probe, apply --verify and
// report --probe share them.
type probeSettings struct {
	DenyMode    string
	Timeout     time.Duration
	WaitTimeout time.Duration
	Image       string
	PullPolicy  string
	Parallel    int
	Mode        string
}

// addFlags registers the probe flags; timeoutFlag is "timeout" for probe
// and "probe-timeout" where --timeout would be ambiguous.
func (s *probeSettings) addFlags(c *cobra.Command, timeoutFlag string) {
	f := c.Flags()
	f.StringVar(&s.DenyMode, "deny-mode", "auto", "How the enforcer ends denied packets: drop, reject, or auto (reject if kube-router runs in kube-system, else drop)")
	f.DurationVar(&s.Timeout, timeoutFlag, 3*time.Second, "Timeout of each probe check")
	f.DurationVar(&s.WaitTimeout, "wait-timeout", 90*time.Second, "How long to wait for each probe container, start included")
	f.StringVar(&s.Image, "image", "", "Probe agent image (default $NETBASELINE_PROBE_IMAGE, the config's probe.image, else "+version.ProbeImage()+")")
	f.StringVar(&s.PullPolicy, "image-pull-policy", string(corev1.PullIfNotPresent), "Always, IfNotPresent or Never")
	f.IntVar(&s.Parallel, "parallel", 5, "Source pods probed at once")
	f.StringVar(&s.Mode, "mode", probe.ModeEphemeral, "ephemeral (a container added to each source pod) or pod (a short-lived pod with the source's labels, deleted afterwards; for clusters that block ephemeral containers)")
	_ = c.RegisterFlagCompletionFunc("deny-mode", cobra.FixedCompletions([]string{"auto", "drop", "reject"}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("mode", cobra.FixedCompletions([]string{probe.ModeEphemeral, probe.ModePod}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("image-pull-policy", cobra.FixedCompletions([]string{"Always", "IfNotPresent", "Never"}, cobra.ShellCompDirectiveNoFileComp))
}

// complete fills the image from the environment or the config.
func (s *probeSettings) complete(g *GlobalOptions) {
	if s.Image == "" {
		configured := ""
		if cfg, _, err := g.LoadConfig(); err == nil {
			configured = cfg.Probe.Image
		}
		s.Image = probeImage(configured)
	}
}

func (s *probeSettings) validate(timeoutFlag string) error {
	if s.Mode != probe.ModeEphemeral && s.Mode != probe.ModePod {
		return usageErrorf("--mode %q: use ephemeral or pod", s.Mode)
	}
	switch s.DenyMode {
	case "auto", "drop", "reject":
	default:
		return usageErrorf("--deny-mode %q: use auto, drop or reject", s.DenyMode)
	}
	switch corev1.PullPolicy(s.PullPolicy) {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		return usageErrorf("--image-pull-policy %q: use Always, IfNotPresent or Never", s.PullPolicy)
	}
	if s.Timeout <= 0 || s.WaitTimeout <= s.Timeout || s.Parallel < 1 {
		return usageErrorf("--%s must be positive, --wait-timeout longer than it, --parallel at least 1", timeoutFlag)
	}
	return nil
}

// denyMode is --deny-mode, or what doctor detects: drop unless the one
// engine found rejects (kube-router).
func (s *probeSettings) denyMode(ctx context.Context, c read.Clients, log io.Writer) probe.DenyMode {
	if s.DenyMode != "auto" {
		return probe.DenyMode(s.DenyMode)
	}
	snap, err := read.Engines(ctx, c)
	if err == nil {
		if why, unreadable := snap.Unreadable["daemonsets"]; unreadable {
			err = errors.New(why)
		}
	}
	if err != nil {
		fmt.Fprintf(log, "Warning: cannot detect the enforcer (%v); assuming denied packets are dropped (set --deny-mode)\n", err)
		return probe.Drop
	}
	engines, _ := doctor.CheckEngines(snap)
	return denyModeOf(s.DenyMode, engines)
}

func (s *probeSettings) announce(log io.Writer, sources int, mode probe.DenyMode) {
	if s.Mode == probe.ModePod {
		fmt.Fprintf(log, "Probing with %d short-lived pod(s) carrying the sources' labels, image %s (deny mode %s). Note: on some enforcers (EKS) a brand-new pod is briefly unenforced.\n", sources, s.Image, mode)
	} else {
		fmt.Fprintf(log, "Probing from %d pod(s) with %s (deny mode %s). Each probed pod keeps an ephemeral container in its spec until it is replaced.\n", sources, s.Image, mode)
	}
}

// runPlans runs every source's plan (Parallel at once) and interprets the
// results; a source that could not run yields error observations.
func (s *probeSettings) runPlans(ctx context.Context, c read.Clients, plans []probe.SourcePlan, mode probe.DenyMode, log io.Writer) []probe.Observation {
	runner := &launch.Runner{Client: c.Kube, Image: s.Image, PullPolicy: corev1.PullPolicy(s.PullPolicy), Wait: s.WaitTimeout, Mode: s.Mode, Log: log}
	results := make([][]probe.Observation, len(plans))
	sem := make(chan struct{}, s.Parallel)
	var wg sync.WaitGroup
	for i, plan := range plans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			res, err := runner.Run(ctx, plan.Pod.Namespace, plan.Pod.Name, s.agentPlan(plan))
			for k, pc := range plan.Checks {
				r := probe.Result{ID: pc.ID, Kind: pc.Kind, Outcome: probe.Error}
				if err != nil {
					r.Detail = err.Error()
				} else {
					r = res[k]
				}
				results[i] = append(results[i], probe.Interpret(pc, r, mode))
			}
			if err != nil {
				fmt.Fprintf(log, "Error: %v\n", err)
			}
		}()
	}
	wg.Wait()
	var out []probe.Observation
	for _, r := range results {
		out = append(out, r...)
	}
	return out
}

func (s *probeSettings) agentPlan(plan probe.SourcePlan) probe.Plan {
	p := probe.Plan{DeadlineMS: (s.Timeout + 2*time.Second).Milliseconds()}
	for _, pc := range plan.Checks {
		p.Checks = append(p.Checks, pc.Check)
	}
	return p
}
