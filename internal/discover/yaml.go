package discover

import (
	"bytes"
	"fmt"
	"io"

	yaml "go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
)

// WriteConfig writes the Config as YAML with the evidence as comments
// next to what it explains, and header (lines) on top.
func WriteConfig(w io.Writer, res *Result, header []string) error {
	data, err := sigsyaml.Marshal(res.Config)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	if len(doc.Content) == 1 {
		root := doc.Content[0]
		tidy(root)
		commentNamespaces(root, res.Comments)
		var head bytes.Buffer
		for i, line := range header {
			if i > 0 {
				head.WriteString("\n")
			}
			head.WriteString(line)
		}
		root.HeadComment = head.String()
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	return enc.Close()
}

// leadingKeys come first in a mapping, as people write Kubernetes YAML.
var leadingKeys = []string{"apiVersion", "kind", "name", "namespace", "app"}

// tidy drops empty mappings (sections the Config leaves at their
// defaults) and puts the identifying keys first.
func tidy(n *yaml.Node) {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			tidy(c)
		}
	case yaml.MappingNode:
		var lead, rest []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			tidy(v)
			if v.Kind == yaml.MappingNode && len(v.Content) == 0 {
				continue
			}
			if contains(leadingKeys, k.Value) {
				lead = append(lead, k, v)
			} else {
				rest = append(rest, k, v)
			}
		}
		// the leading keys in leadingKeys' order
		ordered := make([]*yaml.Node, 0, len(lead))
		for _, want := range leadingKeys {
			for i := 0; i+1 < len(lead); i += 2 {
				if lead[i].Value == want {
					ordered = append(ordered, lead[i], lead[i+1])
				}
			}
		}
		n.Content = append(ordered, rest...)
	}
}

// mapValue is the value node of key in a mapping node (and the key node).
func mapValue(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

func scalar(m *yaml.Node, key string) string {
	_, v := mapValue(m, key)
	if v == nil {
		return ""
	}
	return v.Value
}

func commentNamespaces(root *yaml.Node, comments map[string]string) {
	_, namespaces := mapValue(root, "namespaces")
	if namespaces == nil {
		return
	}
	for _, ns := range namespaces.Content {
		name := scalar(ns, "name")
		ns.HeadComment = comments[keyNamespace(name)]
		if k, _ := mapValue(ns, "monitoring"); k != nil {
			k.HeadComment = comments[keyMonitoring(name)]
		}
		if k, _ := mapValue(ns, "apiServer"); k != nil {
			k.HeadComment = comments[keyAPIServer(name)]
		}
		if k, ee := mapValue(ns, "egressExternal"); k != nil {
			k.HeadComment = comments[keyExternal(name, "")]
			if _, to := mapValue(ee, "to"); to != nil {
				for _, rule := range to.Content {
					rule.HeadComment = comments[keyExternal(name, scalar(rule, "cidr"))]
				}
			}
		}
		_, apps := mapValue(ns, "apps")
		if apps == nil {
			continue
		}
		for _, app := range apps.Content {
			appName := scalar(app, "name")
			app.HeadComment = comments[keyApp(name, appName)]
			if k, _ := mapValue(app, "ingress"); k != nil {
				k.HeadComment = comments[keyIngress(name, appName)]
			}
			if _, rels := mapValue(app, "talksTo"); rels != nil {
				for _, rel := range rels.Content {
					dstNS := scalar(rel, "namespace")
					if dstNS == "" {
						dstNS = name
					}
					rel.HeadComment = comments[keyRelation(name, appName, dstNS, scalar(rel, "app"))]
				}
			}
		}
	}
}

// Header is the comment on top of a discovered Config.
func Header(namespaces []string, pods int, window string) []string {
	return []string{
		fmt.Sprintf("Discovered by kubectl netbaseline discover from %d pod(s) in %v over %s.", pods, namespaces, window),
		"Only what was observed is allowed: review it, then",
		"  kubectl netbaseline diff --flows --config FILE -n NS   (what the baseline would cut)",
		"  kubectl netbaseline apply --verify --config FILE -n NS",
	}
}

// ParseBack reads a written Config the way every command does (a check
// that what discover prints is a valid Config).
func ParseBack(data []byte) (*config.Config, error) { return config.Parse("discover", data) }
