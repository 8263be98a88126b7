package discover

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// Options shape the generated Config.
type Options struct {
	// Namespaces get a baseline: their apps, their calls, what calls them.
	Namespaces []string
	// ExternalPrefix groups external addresses into CIDRs of this length
	// (IPv4; IPv6 addresses get 128, or 64 when it is below 32).
	ExternalPrefix int
}

// Result is the generated Config and the evidence behind each part.
type Result struct {
	Config *config.Config
	// Comments are the evidence, by the place in the Config they explain
	// (see commentKey); the YAML writer puts them next to it.
	Comments map[string]string
	// Used are the edges the Config expresses; Left the edges it does not
	// (attempts only, calls between namespaces that get no baseline).
	Used, Left []*Edge
}

// Comment keys: where in the Config a piece of evidence goes, as paths
// for output.WriteCommentedYAML.
func keyNamespace(ns string) string    { return "namespaces[" + ns + "]" }
func keyApp(ns, app string) string     { return keyNamespace(ns) + ".apps[" + app + "]" }
func keyIngress(ns, app string) string { return keyApp(ns, app) + ".ingress" }
func keyRelation(ns, app, dstNS, dst string) string {
	return keyApp(ns, app) + ".talksTo[" + dstNS + "/" + dst + "]"
}
func keyMonitoring(ns string) string { return keyNamespace(ns) + ".monitoring" }
func keyExternal(ns, cidr string) string {
	if cidr == "" {
		return keyNamespace(ns) + ".egressExternal"
	}
	return keyNamespace(ns) + ".egressExternal.to[" + cidr + "]"
}
func keyAPIServer(ns string) string { return keyNamespace(ns) + ".apiServer" }

// Build makes the Config of the observed namespaces, starting from base
// (a Config to extend — --merge — or one with only the cluster's settings:
// DNS, ingress controller, monitoring). Nothing of base is dropped.
func Build(base *config.Config, edges []*Edge, observed []*model.Pod, apiServer []netip.AddrPort, opts Options) *Result {
	cfg := copyConfig(base)
	cfg.APIVersion, cfg.Kind = config.APIVersion, config.Kind
	b := &builder{base: base, cfg: cfg, opts: opts, res: &Result{Config: cfg, Comments: map[string]string{}},
		target: map[string]bool{}, observedApps: map[string]int{}, monitored: map[string]*Evidence{},
		external: map[string]map[string][]*Edge{}, apiCalls: map[string]*Evidence{}}
	for _, ns := range opts.Namespaces {
		b.target[ns] = true
		ensureNamespace(cfg, ns)
	}
	for _, p := range observed {
		if b.target[p.Namespace] {
			app := AppOf(p)
			ensureApp(cfg, app)
			b.observedApps[app.Key()]++
		}
	}
	for _, e := range edges {
		if e.Connections > 0 && b.add(e) {
			b.res.Used = append(b.res.Used, e)
		} else {
			b.res.Left = append(b.res.Left, e)
		}
	}
	for _, ns := range opts.Namespaces {
		b.namespaceSettings(ns)
	}
	if len(b.apiCalls) > 0 {
		addAPIServerEndpoints(cfg, apiServer)
	}
	for i := range cfg.Namespaces {
		b.commentNamespace(&cfg.Namespaces[i])
	}
	sortConfig(cfg)
	return b.res
}

// builder holds what Build gathers from the edges.
type builder struct {
	base, cfg *config.Config
	opts      Options
	res       *Result
	// target: the namespaces observed; observedApps counts their pods by app.
	target       map[string]bool
	observedApps map[string]int
	monitored    map[string]*Evidence
	external     map[string]map[string][]*Edge // namespace -> app -> edges
	apiCalls     map[string]*Evidence
}

// add takes the edge into the Config; false: it touches no observed
// namespace where it counts, and is left out.
func (b *builder) add(e *Edge) bool {
	switch e.Kind {
	case EdgeApp:
		if !b.target[e.From.Namespace] && !b.target[e.To.Namespace] {
			return false
		}
		ensureApp(b.cfg, e.From)
		ensureApp(b.cfg, *e.To)
		// looked up again: adding an app may have moved the other
		src, dst := ensureApp(b.cfg, e.From), ensureApp(b.cfg, *e.To)
		addAppPort(dst, e)
		addRelation(src, e)
		b.res.comment(keyRelation(e.From.Namespace, src.Name, e.To.Namespace, dst.Name), e.Evidence, fmt.Sprintf("%d/%s", e.Port, e.Protocol))
	case EdgeIngress:
		if !b.target[e.To.Namespace] {
			return false
		}
		dst := ensureApp(b.cfg, *e.To)
		dst.Ingress = true
		addAppPort(dst, e)
		b.res.comment(keyIngress(e.To.Namespace, dst.Name), e.Evidence, fmt.Sprintf("%d/%s from %s", e.Port, e.Protocol, e.From.Key()))
	case EdgeMonitoring:
		if !b.target[e.To.Namespace] {
			return false
		}
		merge(b.monitored, e.To.Namespace, e.Evidence)
	case EdgeExternal:
		if !b.target[e.From.Namespace] {
			return false
		}
		if b.external[e.From.Namespace] == nil {
			b.external[e.From.Namespace] = map[string][]*Edge{}
		}
		b.external[e.From.Namespace][e.From.Name] = append(b.external[e.From.Namespace][e.From.Name], e)
	case EdgeAPIServer:
		if !b.target[e.From.Namespace] {
			return false
		}
		merge(b.apiCalls, e.From.Namespace, e.Evidence)
	}
	return true
}

// namespaceSettings sets an observed namespace's monitoring, API server
// and external egress from what was seen.
func (b *builder) namespaceSettings(ns string) {
	n := b.cfg.FindNamespace(ns)
	if ev := b.monitored[ns]; ev != nil {
		on := true
		n.Monitoring = &on
		b.res.comment(keyMonitoring(ns), *ev, "scrapes of the "+b.cfg.Monitoring.PortName+" port")
	} else if b.base.FindNamespace(ns) == nil {
		off := false
		n.Monitoring = &off
		b.res.Comments[keyMonitoring(ns)] = "no scrape of the " + b.cfg.Monitoring.PortName + " port observed: set true to let " + b.cfg.Monitoring.Namespace + " scrape it"
	}
	if ev := b.apiCalls[ns]; ev != nil {
		n.APIServer = true
		b.res.comment(keyAPIServer(ns), *ev, "calls to the API server")
	}
	if apps := b.external[ns]; apps != nil {
		b.res.externalEgress(n, apps, b.opts.ExternalPrefix)
	}
}

// commentNamespace says how much of the namespace was observed.
func (b *builder) commentNamespace(n *config.Namespace) {
	if !b.target[n.Name] {
		if b.base.FindNamespace(n.Name) == nil {
			b.res.Comments[keyNamespace(n.Name)] = "not observed: only the calls between it and the observed namespaces are known; discover it too before applying its baseline"
		}
		return
	}
	pods := 0
	for _, app := range n.Apps {
		pods += b.observedApps[n.Name+"/"+app.Name]
	}
	b.res.Comments[keyNamespace(n.Name)] = fmt.Sprintf("observed: %d pod(s)", pods)
	for _, app := range n.Apps {
		if b.observedApps[n.Name+"/"+app.Name] == 0 && !baseHasApp(b.base, n.Name, app.Name) {
			b.res.Comments[keyApp(n.Name, app.Name)] = "no pod of this app was observed: it is known as a destination only"
		}
	}
}

func baseHasApp(base *config.Config, ns, app string) bool {
	n := base.FindNamespace(ns)
	return n != nil && n.FindApp(app) != nil
}

func (res *Result) comment(key string, ev Evidence, what string) {
	text := fmt.Sprintf("seen: %s, %d connection(s), %s–%s, observed in %s", what, ev.Connections,
		ev.FirstSeen.UTC().Format(time.TimeOnly), ev.LastSeen.UTC().Format(time.TimeOnly), strings.Join(ev.ObservedBy, ", "))
	if have := res.Comments[key]; have != "" {
		text = have + "\n" + text
	}
	res.Comments[key] = text
}

func merge(m map[string]*Evidence, key string, ev Evidence) {
	have := m[key]
	if have == nil {
		copied := ev
		copied.ObservedBy = append([]string(nil), ev.ObservedBy...)
		m[key] = &copied
		return
	}
	have.Connections += ev.Connections
	if ev.FirstSeen.Before(have.FirstSeen) {
		have.FirstSeen = ev.FirstSeen
	}
	if ev.LastSeen.After(have.LastSeen) {
		have.LastSeen = ev.LastSeen
	}
	for _, o := range ev.ObservedBy {
		if len(have.ObservedBy) < 3 && !contains(have.ObservedBy, o) {
			have.ObservedBy = append(have.ObservedBy, o)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// externalEgress groups a namespace's external calls into CIDRs. One
// egressExternal per namespace is what the Config holds: scoped to the
// app when one app makes them all, else to every pod of the namespace.
func (res *Result) externalEgress(n *config.Namespace, apps map[string][]*Edge, prefix int) {
	type portKey struct {
		port     int32
		protocol string
	}
	byCIDR := map[string]map[portKey]bool{}
	evidence := map[string]*Evidence{}
	var names []string
	for app, edges := range apps {
		names = append(names, app)
		for _, e := range edges {
			cidr := groupPrefix(e.Remote, prefix)
			if e.Node != "" {
				// a node's address alone: a wider prefix would take in the pods beside it
				cidr = groupPrefix(e.Remote, 32)
			}
			if byCIDR[cidr] == nil {
				byCIDR[cidr] = map[portKey]bool{}
			}
			byCIDR[cidr][portKey{e.Port, string(e.Protocol)}] = true
			what := "to " + e.Remote.String()
			if e.Node != "" {
				what += " (node " + e.Node + ")"
			}
			ev := e.Evidence
			merge(evidence, cidr+"|"+what, ev)
		}
	}
	sort.Strings(names)
	ee := n.EgressExternal
	if ee == nil {
		ee = &config.ExternalEgress{}
		if len(names) == 1 {
			ee.App = names[0]
		}
		n.EgressExternal = ee
	} else if ee.App != "" && (len(names) > 1 || names[0] != ee.App) {
		ee.App = "" // the Config holds one egressExternal per namespace
	}
	for _, cidr := range sortedKeys(byCIDR) {
		var ports []config.Port
		for pk := range byCIDR[cidr] {
			ports = append(ports, config.Port{Port: pk.port, Protocol: pk.protocol})
		}
		sort.Slice(ports, func(i, j int) bool {
			return ports[i].Protocol < ports[j].Protocol || ports[i].Protocol == ports[j].Protocol && ports[i].Port < ports[j].Port
		})
		addCIDRRule(ee, cidr, ports)
	}
	for _, k := range sortedKeys(evidence) {
		cidr, what, _ := strings.Cut(k, "|")
		res.comment(keyExternal(n.Name, cidr), *evidence[k], what)
	}
	if len(names) > 1 {
		res.Comments[keyExternal(n.Name, "")] = "made by apps " + strings.Join(names, ", ") + ": the Config holds one egressExternal per namespace, so it applies to every pod here"
	}
}

// groupPrefix is the CIDR of ip at the chosen length.
func groupPrefix(ip netip.Addr, bits int) string {
	if ip.Is6() {
		switch {
		case bits >= 32:
			bits = 128
		case bits == 0:
			bits = 0
		default:
			bits = 64
		}
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return netip.PrefixFrom(ip, ip.BitLen()).String()
	}
	return p.String()
}

func addCIDRRule(ee *config.ExternalEgress, cidr string, ports []config.Port) {
	for i := range ee.To {
		if ee.To[i].CIDR == cidr {
			if len(ee.To[i].Ports) == 0 {
				return // every port already
			}
			for _, p := range ports {
				if !hasPort(ee.To[i].Ports, p) {
					ee.To[i].Ports = append(ee.To[i].Ports, p)
				}
			}
			return
		}
	}
	ee.To = append(ee.To, config.CIDRRule{CIDR: cidr, Ports: ports})
}

func hasPort(ports []config.Port, p config.Port) bool {
	for _, q := range ports {
		if q.Port == p.Port && q.EndPort == 0 && strings.EqualFold(protocolName(q.Protocol), protocolName(p.Protocol)) {
			return true
		}
		if q.EndPort != 0 && p.Port >= q.Port && p.Port <= q.EndPort && strings.EqualFold(protocolName(q.Protocol), protocolName(p.Protocol)) {
			return true
		}
	}
	return false
}

func protocolName(p string) string {
	if p == "" {
		return "TCP"
	}
	return p
}

func addAPIServerEndpoints(cfg *config.Config, endpoints []netip.AddrPort) {
	ports := map[string][]config.Port{}
	for _, ep := range endpoints {
		cidr := netip.PrefixFrom(ep.Addr(), ep.Addr().BitLen()).String()
		p := config.Port{Port: int32(ep.Port()), Protocol: "TCP"}
		if !hasPort(ports[cidr], p) {
			ports[cidr] = append(ports[cidr], p)
		}
	}
	for _, cidr := range sortedKeys(ports) {
		found := false
		for _, r := range cfg.APIServer.To {
			if r.CIDR == cidr {
				found = true
			}
		}
		if !found {
			cfg.APIServer.To = append(cfg.APIServer.To, config.CIDRRule{CIDR: cidr, Ports: ports[cidr]})
		}
	}
}

func ensureNamespace(cfg *config.Config, name string) *config.Namespace {
	if n := cfg.FindNamespace(name); n != nil {
		return n
	}
	cfg.Namespaces = append(cfg.Namespaces, config.Namespace{Name: name})
	return &cfg.Namespaces[len(cfg.Namespaces)-1]
}

// ensureApp finds the Config's app for these pods (by name, or by the
// labels an existing entry selects them with) or adds it.
func ensureApp(cfg *config.Config, a App) *config.App {
	n := ensureNamespace(cfg, a.Namespace)
	for i := range n.Apps {
		if n.Apps[i].Name == a.Name || sameLabels(n.Apps[i].Labels, a.Labels) {
			return &n.Apps[i]
		}
	}
	n.Apps = append(n.Apps, config.App{Name: a.Name, Labels: a.Labels})
	return &n.Apps[len(n.Apps)-1]
}

func sameLabels(a, b map[string]string) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func addAppPort(app *config.App, e *Edge) {
	for _, p := range app.Ports {
		if p.Port == e.Port && strings.EqualFold(protocolName(p.Protocol), string(e.Protocol)) {
			return
		}
	}
	name := e.PortName
	for _, p := range app.Ports {
		if p.Name == name {
			name = "" // the Config's port names are unique per app
		}
	}
	app.Ports = append(app.Ports, config.AppPort{Name: name, Port: e.Port, Protocol: string(e.Protocol)})
	sort.Slice(app.Ports, func(i, j int) bool { return app.Ports[i].Port < app.Ports[j].Port })
}

func addRelation(src *config.App, e *Edge) {
	p := config.Port{Port: e.Port, Protocol: string(e.Protocol)}
	for i := range src.TalksTo {
		rel := &src.TalksTo[i]
		if rel.Namespace == e.To.Namespace && rel.App == e.To.Name {
			if len(rel.Ports) > 0 && !hasPort(rel.Ports, p) {
				rel.Ports = append(rel.Ports, p)
			}
			return
		}
	}
	src.TalksTo = append(src.TalksTo, config.Relation{Namespace: e.To.Namespace, App: e.To.Name, Ports: []config.Port{p}})
}

func sortConfig(cfg *config.Config) {
	for i := range cfg.Namespaces {
		n := &cfg.Namespaces[i]
		sort.SliceStable(n.Apps, func(a, b int) bool { return n.Apps[a].Name < n.Apps[b].Name })
		for j := range n.Apps {
			rels := n.Apps[j].TalksTo
			sort.SliceStable(rels, func(a, b int) bool {
				return rels[a].Namespace < rels[b].Namespace || rels[a].Namespace == rels[b].Namespace && rels[a].App < rels[b].App
			})
			for k := range rels {
				ports := rels[k].Ports
				sort.Slice(ports, func(a, b int) bool { return ports[a].Port < ports[b].Port })
			}
		}
	}
	sort.SliceStable(cfg.Namespaces, func(a, b int) bool { return cfg.Namespaces[a].Name < cfg.Namespaces[b].Name })
}

// copyConfig is a deep copy through the schema (what a Config file holds).
func copyConfig(c *config.Config) *config.Config {
	out := *c
	out.Namespaces = make([]config.Namespace, len(c.Namespaces))
	for i, n := range c.Namespaces {
		n.Apps = append([]config.App(nil), n.Apps...)
		for j := range n.Apps {
			n.Apps[j].Ports = append([]config.AppPort(nil), n.Apps[j].Ports...)
			n.Apps[j].TalksTo = append([]config.Relation(nil), n.Apps[j].TalksTo...)
			for k := range n.Apps[j].TalksTo {
				n.Apps[j].TalksTo[k].Ports = append([]config.Port(nil), n.Apps[j].TalksTo[k].Ports...)
			}
		}
		if n.EgressExternal != nil {
			ee := *n.EgressExternal
			ee.To = append([]config.CIDRRule(nil), ee.To...)
			for k := range ee.To {
				ee.To[k].Ports = append([]config.Port(nil), ee.To[k].Ports...)
			}
			n.EgressExternal = &ee
		}
		if n.Monitoring != nil {
			m := *n.Monitoring
			n.Monitoring = &m
		}
		out.Namespaces[i] = n
	}
	out.APIServer.To = append([]config.CIDRRule(nil), c.APIServer.To...)
	return &out
}
