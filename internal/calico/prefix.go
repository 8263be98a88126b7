package calico

// WithPrefix is the selector with every label key prefixed, as Calico's
// PrefixVisitor rewrites a namespaceSelector (pcns.) or a service account
// selector (pcsa.) before felix evaluates it on an endpoint's inherited
// labels; all() and global() are left as they are, as Calico leaves them.
func (s *Selector) WithPrefix(prefix string) *Selector {
	return newSelector(s.root.withPrefix(prefix))
}

func (n *node) withPrefix(prefix string) *node {
	out := *n
	if n.key != "" {
		out.key = prefix + n.key
	}
	if len(n.operands) > 0 {
		out.operands = make([]*node, len(n.operands))
		for i, o := range n.operands {
			out.operands[i] = o.withPrefix(prefix)
		}
	}
	return &out
}
