package cmd

import (
	"context"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/applying"
	"github.com/netbaseline/kubectl-netbaseline/internal/canary"
	"github.com/netbaseline/kubectl-netbaseline/internal/doctor"
	"github.com/netbaseline/kubectl-netbaseline/internal/inventory"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// verification wires apply --verify to the cluster: doctor's detection,
// the canary, the live read and the probe launcher.
func (o *ApplyOptions) verification(clients read.Clients) *applying.Verification {
	return &applying.Verification{
		Canary: o.Canary, DenyMode: o.DenyMode, Settle: o.VerifySettle, MaxChecks: o.VerifyMaxChecks, CheckTimeout: o.Timeout, Image: o.Image, Save: o.Save, SystemPods: o.VerifySystem,
		Engines: func(ctx context.Context) (*inventory.Snapshot, error) { return read.Engines(ctx, clients) },
		RunCanary: func(ctx context.Context) doctor.Finding {
			return canary.Run(ctx, clients.Kube, canary.Options{Image: o.Image, PullPolicy: corev1.PullPolicy(o.PullPolicy), Wait: o.WaitTimeout, Log: o.ErrOut})
		},
		Load: func(ctx context.Context, namespaces []string) (*model.Model, error) {
			return read.LoadLive(ctx, clients, read.LiveOptions{Namespaces: namespaces})
		},
		Prober:    clusterProber{settings: &o.probeSettings, clients: clients},
		WriteFile: writeFile,
		Now:       time.Now,
		Log:       prefixed{o.ErrOut},
	}
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
