package config

// Default returns the runbook's sample app: frontend-dev (app=frontend on
// 3000) calls backend-dev (app=backend on 3001), both behind the ingress
// controller in namespace ingress and scraped by monitoring on the named
// port metrics.
func Default() *Config {
	c := &Config{
		Namespaces: []Namespace{
			{
				Name: "frontend-dev",
				Apps: []App{{
					Name:    "frontend",
					Labels:  map[string]string{"app": "frontend"},
					Ports:   []AppPort{{Name: "http", Port: 3000, Protocol: "TCP"}},
					Ingress: true,
					TalksTo: []Relation{{Namespace: "backend-dev", App: "backend"}},
				}},
			},
			{
				Name: "backend-dev",
				Apps: []App{{
					Name:    "backend",
					Labels:  map[string]string{"app": "backend"},
					Ports:   []AppPort{{Name: "http", Port: 3001, Protocol: "TCP"}},
					Ingress: true,
				}},
			},
		},
		Doctor: Doctor{
			Kyverno: Kyverno{ClusterPolicies: []KyvernoPolicy{
				// The runbook names the registries; set allowedRegistries to yours.
				{Name: "require-image-registry"},
				{Name: "require-run-as-non-root", Action: "Audit"},
				{Name: "require-resource-limits", Action: "Enforce"},
			}},
			ArgoCD: ArgoCD{Applications: []string{"root", "backend-sample", "frontend-sample"}},
		},
	}
	c.SetDefaults()
	return c
}

// SetDefaults fills every field a user may leave out. It is idempotent.
func (c *Config) SetDefaults() {
	if c.APIVersion == "" {
		c.APIVersion = APIVersion
	}
	if c.Kind == "" {
		c.Kind = Kind
	}
	if c.NamespaceLabel == "" {
		c.NamespaceLabel = MetadataNameLabel
	}
	if c.DNS.Namespace == "" {
		c.DNS.Namespace = "kube-system"
	}
	if c.DNS.PodLabels == nil {
		c.DNS.PodLabels = map[string]string{"k8s-app": "kube-dns"}
	}
	if c.IngressController.Namespace == "" {
		c.IngressController.Namespace = "ingress"
	}
	if c.IngressController.PodLabels == nil {
		c.IngressController.PodLabels = map[string]string{"app.kubernetes.io/name": "ingress-nginx"}
	}
	if c.Monitoring.Namespace == "" {
		c.Monitoring.Namespace = "monitoring"
	}
	if c.Monitoring.PortName == "" {
		c.Monitoring.PortName = "metrics"
	}
	if c.Namespaces == nil {
		c.Namespaces = Default().Namespaces
	}
	for i := range c.Namespaces {
		ns := &c.Namespaces[i]
		if ns.Monitoring == nil {
			on := true
			ns.Monitoring = &on
		}
		for j := range ns.Apps {
			app := &ns.Apps[j]
			if len(app.Labels) == 0 && app.Name != "" {
				app.Labels = map[string]string{"app": app.Name}
			}
			for k := range app.Ports {
				defaultProtocol(&app.Ports[k].Protocol)
			}
			for k := range app.TalksTo {
				rel := &app.TalksTo[k]
				if rel.Namespace == "" {
					rel.Namespace = ns.Name
				}
				defaultPorts(rel.Ports)
			}
		}
		if ns.EgressExternal != nil {
			defaultRules(ns.EgressExternal.To)
		}
	}
	defaultRules(c.APIServer.To)
	defaultRules(c.CloudIdentity.To)
	if c.Doctor.ArgoCD.Namespace == "" {
		c.Doctor.ArgoCD.Namespace = "argocd"
	}
	if c.Doctor.ArgoCD.DestinationServer == "" {
		c.Doctor.ArgoCD.DestinationServer = "https://kubernetes.default.svc"
	}
}

func defaultRules(rules []CIDRRule) {
	for i := range rules {
		defaultPorts(rules[i].Ports)
	}
}

func defaultPorts(ports []Port) {
	for i := range ports {
		defaultProtocol(&ports[i].Protocol)
	}
}

func defaultProtocol(p *string) {
	if *p == "" {
		*p = "TCP"
	}
}

// MonitoringEnabled reports whether the namespace lets monitoring scrape it.
func (n *Namespace) MonitoringEnabled() bool {
	return n.Monitoring == nil || *n.Monitoring
}

// FindNamespace returns the namespace entry with that name, or nil.
func (c *Config) FindNamespace(name string) *Namespace {
	for i := range c.Namespaces {
		if c.Namespaces[i].Name == name {
			return &c.Namespaces[i]
		}
	}
	return nil
}

// FindApp returns the app with that name in the namespace, or nil.
func (n *Namespace) FindApp(name string) *App {
	for i := range n.Apps {
		if n.Apps[i].Name == name {
			return &n.Apps[i]
		}
	}
	return nil
}

// NamespaceNames lists the configured namespaces in Config order.
func (c *Config) NamespaceNames() []string {
	names := make([]string, 0, len(c.Namespaces))
	for _, ns := range c.Namespaces {
		names = append(names, ns.Name)
	}
	return names
}

// CheckedNamespaces are the namespaces the Config's checks (doctor,
// report) look at: its own, and those of the peers it allows (ingress,
// monitoring, DNS) and kube-system, once each. When cluster-wide lists are
// refused, these are read one by one.
func (c *Config) CheckedNamespaces() []string {
	seen := map[string]bool{}
	var out []string
	for _, ns := range append(c.NamespaceNames(), c.IngressController.Namespace, c.Monitoring.Namespace, c.DNS.Namespace, "kube-system") {
		if !seen[ns] {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	return out
}

// Restricted is a copy of the Config that describes only the named
// namespaces, in that order (a bare entry for one it does not describe).
func (c *Config) Restricted(names []string) *Config {
	out := *c
	out.Namespaces = nil
	for _, n := range names {
		if ns := c.FindNamespace(n); ns != nil {
			out.Namespaces = append(out.Namespaces, *ns)
		} else {
			out.Namespaces = append(out.Namespaces, Namespace{Name: n})
		}
	}
	return &out
}
