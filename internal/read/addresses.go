package read

import (
	"context"
	"net/netip"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// APIServerEndpoints are the addresses and ports behind the default/kubernetes
// Service, from its EndpointSlices: what a NetworkPolicy must allow for a
// pod to reach the API server (policies see the address after kube-proxy's
// translation, not the ClusterIP).
func APIServerEndpoints(ctx context.Context, c Clients) ([]netip.AddrPort, error) {
	l, err := c.Kube.DiscoveryV1().EndpointSlices(metav1.NamespaceDefault).List(ctx,
		metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=kubernetes"})
	if err != nil {
		return nil, WrapAPI(err, "list", "endpointslices", metav1.NamespaceDefault)
	}
	var out []netip.AddrPort
	for _, es := range l.Items {
		for _, ep := range es.Endpoints {
			for _, a := range ep.Addresses {
				ip, err := netip.ParseAddr(a)
				if err != nil {
					continue
				}
				for _, p := range es.Ports {
					if p.Port != nil {
						out = append(out, netip.AddrPortFrom(ip, uint16(*p.Port)))
					}
				}
			}
		}
	}
	return out, nil
}

// Nodes lists the nodes with their addresses (what a pod's socket shows
// for a kubelet or a host-network peer).
func Nodes(ctx context.Context, c Clients) ([]*model.Node, error) {
	l, err := c.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, WrapAPI(err, "list", "nodes", "")
	}
	out := make([]*model.Node, 0, len(l.Items))
	for i := range l.Items {
		out = append(out, model.NodeFromAPI(&l.Items[i]))
	}
	return out, nil
}
