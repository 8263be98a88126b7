package config

import (
	"strings"
	"testing"
)

func TestCheckedNamespacesAreTheAppsThenThePeersOnceEach(t *testing.T) {
	c := Default()
	c.Namespaces = []Namespace{{Name: "shop"}, {Name: "kube-system"}}
	c.IngressController.Namespace, c.Monitoring.Namespace, c.DNS.Namespace = "ingress", "monitoring", "kube-system"
	if got := strings.Join(c.CheckedNamespaces(), ","); got != "shop,kube-system,ingress,monitoring" {
		t.Fatalf("got %s", got)
	}
}

func TestRestrictedKeepsTheNamedNamespacesInOrder(t *testing.T) {
	c := Default()
	c.Namespaces = []Namespace{{Name: "a", Apps: []App{{Name: "web"}}}, {Name: "b"}}
	r := c.Restricted([]string{"b", "new", "a"})
	if len(r.Namespaces) != 3 || r.Namespaces[0].Name != "b" || r.Namespaces[1].Name != "new" || len(r.Namespaces[2].Apps) != 1 || len(c.Namespaces) != 2 {
		t.Fatalf("restricted %+v, original %+v", r.Namespaces, c.Namespaces)
	}
}
