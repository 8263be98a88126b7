package output

import (
	"io"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"
)

// WriteCommentedYAML writes v as YAML with comments: header on top, and
// each entry of comments above the node its path names. A path is the
// mapping keys from the top joined by dots, a sequence item written as
// [ID] after its key, ID being the item's name, else its cidr, else
// namespace/app: "namespaces[web].apps[api].talksTo[db/postgres]". Empty
// mappings (sections left at their defaults) are left out, and the keys
// that identify an object come first.
func WriteCommentedYAML(w io.Writer, v any, header []string, comments map[string]string) error {
	data, err := sigsyaml.Marshal(v)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	if len(doc.Content) == 1 {
		root := doc.Content[0]
		tidyYAML(root)
		attachComments(root, "", comments)
		root.HeadComment = strings.Join(header, "\n")
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

func tidyYAML(n *yaml.Node) {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			tidyYAML(c)
		}
	case yaml.MappingNode:
		lead := map[string][2]*yaml.Node{}
		var rest []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			tidyYAML(v)
			if v.Kind == yaml.MappingNode && len(v.Content) == 0 {
				continue
			}
			if slices.Contains(leadingKeys, k.Value) {
				lead[k.Value] = [2]*yaml.Node{k, v}
			} else {
				rest = append(rest, k, v)
			}
		}
		ordered := make([]*yaml.Node, 0, len(n.Content))
		for _, key := range leadingKeys {
			if kv, ok := lead[key]; ok {
				ordered = append(ordered, kv[0], kv[1])
			}
		}
		n.Content = append(ordered, rest...)
	}
}

func attachComments(n *yaml.Node, path string, comments map[string]string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if c := comments[p]; c != "" {
				k.HeadComment = c
			}
			if v.Kind == yaml.SequenceNode {
				for _, item := range v.Content {
					ip := p + "[" + itemID(item) + "]"
					if c := comments[ip]; c != "" {
						item.HeadComment = c
					}
					attachComments(item, ip, comments)
				}
				continue
			}
			attachComments(v, p, comments)
		}
	}
}

// itemID names a sequence item for a comment path.
func itemID(item *yaml.Node) string {
	get := func(key string) string {
		if item.Kind != yaml.MappingNode {
			return ""
		}
		for i := 0; i+1 < len(item.Content); i += 2 {
			if item.Content[i].Value == key {
				return item.Content[i+1].Value
			}
		}
		return ""
	}
	switch {
	case get("name") != "":
		return get("name")
	case get("cidr") != "":
		return get("cidr")
	case get("app") != "":
		return get("namespace") + "/" + get("app")
	}
	return item.Value
}
