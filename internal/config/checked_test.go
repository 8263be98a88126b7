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
