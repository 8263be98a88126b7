// Package discovering is discover's use case: observe the pods of some
// namespaces through an injected observer, resolve what they connected to
// in the model, build the Config with its evidence, render it, and say what
// it covers and what it would cut. The command only turns flags into a
// Config; internal/discover holds the pure parts.
package discovering

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/discover"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
)

// Observer watches pods' socket tables (internal/probe/launch's Runner).
type Observer interface {
	ObserveAll(ctx context.Context, pods [][2]string, parallel int, window, interval time.Duration) []probe.PodObservation
}

// Config is one run of discover.
type Config struct {
	// Namespaces to observe and give a baseline; AllNamespaces: every
	// namespace with pods but the system ones.
	Namespaces    []string
	AllNamespaces bool
	// IncludePeers also observes the ingress controller's and monitoring's
	// namespaces.
	IncludePeers   bool
	Window         time.Duration
	Interval       time.Duration
	ExternalPrefix int
	Parallel       int
	Image          string // named in the announcement

	// Settings are the cluster's (DNS, ingress controller, monitoring);
	// Base is what the result extends (--merge, or those settings alone).
	Settings, Base *config.Config

	Output      string
	Out, ErrOut io.Writer

	// Load reads the model of these namespaces (all when none).
	Load func(ctx context.Context, namespaces []string) (*model.Model, error)
	// Nodes lists the nodes when the model has none (a warning if not).
	Nodes func(ctx context.Context) ([]*model.Node, error)
	// APIServer lists the API server's endpoints.
	APIServer func(ctx context.Context) ([]netip.AddrPort, error)
	Observer  Observer
}

// Run observes, resolves and writes the Config.
func Run(ctx context.Context, c Config) error {
	snapshot, err := c.Load(ctx, c.Namespaces)
	if err != nil {
		return err
	}
	for _, w := range snapshot.Warnings {
		fmt.Fprintf(c.ErrOut, "Warning: %s\n", w)
	}
	targets := c.targets(snapshot)
	if len(targets) == 0 {
		return exit.Failedf("no namespace with pods to observe")
	}
	for _, ns := range targets {
		if snapshot.CouldNotRead("pods", ns) {
			return &exit.Error{Code: exit.Failed, Err: &model.UnreadableError{Verb: "list", Resource: "pods", Namespace: ns}}
		}
	}
	if len(snapshot.Nodes) == 0 {
		nodes, err := c.Nodes(ctx)
		if err != nil {
			fmt.Fprintf(c.ErrOut, "Warning: %v: node addresses are treated as external\n", err)
		}
		snapshot.Nodes = nodes
	}
	apiServer, err := c.APIServer(ctx)
	if err != nil {
		fmt.Fprintf(c.ErrOut, "Warning: %v: calls to the API server are recognised by its ClusterIP only, and apiServer.to stays empty\n", err)
	}

	pods := c.podsToObserve(snapshot, targets)
	if len(pods) == 0 {
		return exit.Failedf("no running pod to observe in %s", strings.Join(targets, ", "))
	}
	fmt.Fprintf(c.ErrOut, "Observing %d pod(s) for %s with %s. Each observed pod keeps an ephemeral container in its spec until it is replaced.\n", len(pods), c.Window, c.Image)
	refs := make([][2]string, len(pods))
	for i, p := range pods {
		refs[i] = [2]string{p.Namespace, p.Name}
	}
	observed := c.Observer.ObserveAll(ctx, refs, c.Parallel, c.Window, c.Interval)

	reports := make([]discover.PodReport, len(observed))
	var failed []string
	partial := 0
	for i, ob := range observed {
		reports[i] = discover.PodReport{Pod: pods[i], Observation: ob.Observation}
		if ob.Err != nil {
			reports[i].Err = ob.Err.Error()
			failed = append(failed, ob.Err.Error())
			fmt.Fprintf(c.ErrOut, "error: %v\n", ob.Err)
		} else if ob.Observation.Partial {
			partial++
		}
	}
	if len(failed) == len(pods) {
		return exit.Failedf("no pod could be observed (first error above: %s)", failed[0])
	}
	if ctx.Err() != nil {
		fmt.Fprintf(c.ErrOut, "Interrupted: writing what was observed so far (%d pod(s) reported part of the window).\n", partial)
	}
	edges, notes := discover.Edges(reports, discover.NewResolver(snapshot, apiServer), c.Settings)
	if !anythingObserved(edges) {
		return exit.Failedf("nothing observed in %s: generate traffic or widen --duration", c.Window)
	}
	var observedPods []*model.Pod
	for _, r := range reports {
		if r.Observation != nil {
			observedPods = append(observedPods, r.Pod)
		}
	}
	res := discover.Build(c.Base, edges, observedPods, apiServer, discover.Options{Namespaces: targets, ExternalPrefix: c.ExternalPrefix})

	var buf bytes.Buffer
	if err := discover.WriteConfig(&buf, res, discover.Header(targets, len(observedPods), c.Window.String())); err != nil {
		return err
	}
	parsed, err := discover.ParseBack(buf.Bytes())
	if err != nil {
		return fmt.Errorf("the discovered Config does not read back (a bug; the raw result follows):\n%s\n%w", buf.String(), err)
	}
	coverage, err := c.coverage(snapshot, parsed, targets, edges)
	if err != nil {
		return err
	}
	c.summarize(len(observedPods), res, notes, coverage)
	if c.Output != "yaml" {
		return output.WriteDocument(c.Out, c.Output, discoveryDocument{APIVersion: config.APIVersion, Kind: "Discovery",
			Config: parsed, Edges: edges, Notes: notes, Coverage: coverage, Observations: observationsOf(reports)})
	}
	_, err = io.Copy(c.Out, &buf)
	return err
}

// targets are the namespaces that get a baseline: -n, or with -A every
// namespace with pods except the system ones.
func (c Config) targets(m *model.Model) []string {
	if !c.AllNamespaces {
		return model.Unique(c.Namespaces)
	}
	seen := map[string]bool{}
	for _, p := range m.Pods {
		if !model.SystemNamespaces[p.Namespace] {
			seen[p.Namespace] = true
		}
	}
	out := make([]string, 0, len(seen))
	for ns := range seen {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}

// podsToObserve are the running pods of the targets (and of the peers'
// namespaces with --include-peers); host-network pods are skipped.
func (c Config) podsToObserve(m *model.Model, targets []string) []*model.Pod {
	scope := map[string]bool{}
	for _, ns := range targets {
		scope[ns] = true
	}
	if c.IncludePeers {
		scope[c.Settings.IngressController.Namespace] = true
		scope[c.Settings.Monitoring.Namespace] = true
	}
	var out []*model.Pod
	for _, p := range m.Pods {
		switch {
		case !scope[p.Namespace]:
		case p.HostNetwork:
			fmt.Fprintf(c.ErrOut, "Skipping %s: it uses the host network, so its socket table is the node's\n", p.Key())
		case p.Phase != corev1.PodRunning:
			fmt.Fprintf(c.ErrOut, "Skipping %s: it is %s, not Running\n", p.Key(), phaseOrUnknown(p.Phase))
		case p.Terminating:
			fmt.Fprintf(c.ErrOut, "Skipping %s: it is being deleted\n", p.Key())
		default:
			out = append(out, p)
		}
	}
	return out
}

func phaseOrUnknown(p corev1.PodPhase) string {
	if p == "" {
		return "in no phase yet"
	}
	return string(p)
}

func anythingObserved(edges []*discover.Edge) bool {
	for _, e := range edges {
		if e.Connections > 0 || e.Attempts > 0 {
			return true
		}
	}
	return false
}

// coverage renders the discovered baseline and compares it with the
// observations and the policies in place.
func (c Config) coverage(snapshot *model.Model, cfg *config.Config, targets []string, edges []*discover.Edge) (discover.Coverage, error) {
	src, err := baseline.ConfigSource(cfg, "the discovered config")
	if err != nil {
		return discover.Coverage{}, err
	}
	rendered, err := src.RenderAll(targets)
	if err != nil {
		return discover.Coverage{}, err
	}
	after, err := apply.Predict(snapshot, targets, rendered, apply.Options{})
	var conflict *apply.ConflictError
	if errors.As(err, &conflict) {
		// Coverage is of the baseline once applied: as apply would make
		// it with --force-conflicts, which it needs here.
		fmt.Fprintf(c.ErrOut, "Warning: applying this baseline needs --force-conflicts: %v\n", err)
		after, err = apply.Predict(snapshot, targets, rendered, apply.Options{ForceConflicts: true})
	}
	if err != nil {
		return discover.Coverage{}, err
	}
	focus := map[string]bool{}
	for _, ns := range targets {
		focus[ns] = true
	}
	return discover.CoverageOf(snapshot, after, edges, focus), nil
}

// summarize tells on stderr what was found and what the baseline changes.
func (c Config) summarize(pods int, res *discover.Result, notes discover.Notes, cov discover.Coverage) {
	w := c.ErrOut
	fmt.Fprintf(w, "Observed %d pod(s): %d call(s) in the Config.\n", pods, len(res.Used))
	const shown = 10
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(w, "%s (%d):\n", title, len(items))
		for i, it := range items {
			if i == shown {
				fmt.Fprintf(w, "  … and %d more (-o json lists them all)\n", len(items)-shown)
				break
			}
			fmt.Fprintf(w, "  %s\n", it)
		}
	}
	var never, cut []string
	for _, c := range cov.NeverObserved {
		never = append(never, fmt.Sprintf("%s -> %s %d/%s", c.FromGroup, c.ToGroup, c.Port, c.Protocol))
	}
	for _, c := range cov.CutObserved {
		cut = append(cut, fmt.Sprintf("%s -> %s %d/%s", c.FromGroup, c.ToGroup, c.Port, c.Protocol))
	}
	list("Allowed now, never observed, denied by this baseline (what diff --flows --config will show as cut)", model.Unique(never))
	list("Warning: observed, yet denied by this baseline (the Config cannot express them; add them by hand)", model.Unique(cut))
	var denied []string
	for _, d := range cov.DeniedNow {
		denied = append(denied, d.Edge+" (denied now by "+strings.Join(d.By, ", ")+")")
	}
	list("Observed, but denied by the policies in place now", denied)
	list("Attempted, never answered (left out of the Config)", cov.Unanswered)
	list("Calls from outside the cluster (for ingressController.sourceCIDRs if they are your load balancers)", notes.InboundExternal)
	list("Calls to Services no pod answers on that port (left out)", notes.Unmapped)
	if notes.FromNodes > 0 {
		fmt.Fprintf(w, "Left out: %d connection(s) from node addresses (kubelet health checks, host-network clients, Service traffic kube-proxy masqueraded).\n", notes.FromNodes)
	}
}

// discoveryDocument is -o json.
type discoveryDocument struct {
	APIVersion   string              `json:"apiVersion"`
	Kind         string              `json:"kind"`
	Config       *config.Config      `json:"config"`
	Edges        []*discover.Edge    `json:"edges"`
	Notes        discover.Notes      `json:"notes"`
	Coverage     discover.Coverage   `json:"coverage"`
	Observations []podObservationDoc `json:"observations"`
}

type podObservationDoc struct {
	Pod         string                   `json:"pod"`
	Observation *probe.SocketObservation `json:"observation,omitempty"`
	Error       string                   `json:"error,omitempty"`
}

func observationsOf(reports []discover.PodReport) []podObservationDoc {
	out := make([]podObservationDoc, 0, len(reports))
	for _, r := range reports {
		out = append(out, podObservationDoc{Pod: r.Pod.Key(), Observation: r.Observation, Error: r.Err})
	}
	return out
}
