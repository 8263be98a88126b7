package cmd

import (
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/netbaseline/kubectl-netbaseline/internal/read"
	"github.com/netbaseline/kubectl-netbaseline/internal/version"
)

// Factory hands out cluster clients. Commands take it from GlobalOptions,
// so tests can inject fake or envtest-backed clients.
type Factory interface {
	Clients() (read.Clients, error)
}

// configFlagsFactory builds clients from kubectl's global flags.
type configFlagsFactory struct {
	flags *genericclioptions.ConfigFlags
}

func (f *configFlagsFactory) Clients() (read.Clients, error) {
	cfg, err := f.flags.ToRESTConfig()
	if err != nil {
		return read.Clients{}, usageErrorf("kubeconfig: %v", err)
	}
	// A read-heavy tool: the defaults (5 QPS) would throttle a fan-out.
	cfg.QPS, cfg.Burst = 50, 100
	cfg.UserAgent = version.UserAgent()
	return read.NewClients(cfg)
}
