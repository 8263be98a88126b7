package read

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// NewClients makes the clients of cfg. The typed client speaks protobuf,
// as the control plane's own components do: the lists of a large cluster
// decode several times faster than as JSON (JSON stays accepted, for
// servers or proxies that do not serve protobuf). The dynamic and
// metadata clients set their own content types.
func NewClients(cfg *rest.Config) (Clients, error) {
	typed := rest.CopyConfig(cfg)
	typed.ContentType = runtime.ContentTypeProtobuf
	typed.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	kube, err := kubernetes.NewForConfig(typed)
	if err != nil {
		return Clients{}, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return Clients{}, err
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return Clients{}, err
	}
	return Clients{Kube: kube, Discovery: kube.Discovery(), Dynamic: dyn, Metadata: meta, Config: cfg}, nil
}
