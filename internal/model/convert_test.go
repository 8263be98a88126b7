package model

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// addrsEqual lets cmp compare netip.Addr, whose fields are unexported.
var addrsEqual = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

// apiPod is a bare running pod "web-1" (app=web) with the edit applied.
func apiPod(edit func(*corev1.Pod)) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop", Labels: map[string]string{"app": "web"}}}
	if edit != nil {
		edit(pod)
	}
	return pod
}

// modelPod is what PodFromAPI makes of apiPod(nil), with the edit applied.
func modelPod(edit func(*Pod)) *Pod {
	p := &Pod{Namespace: "shop", Name: "web-1", Labels: map[string]string{"app": "web"}, ServiceAccount: "default"}
	if edit != nil {
		edit(p)
	}
	return p
}

func controlledBy(kind, name string) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{APIVersion: "apps/v1", Kind: kind, Name: name, Controller: &yes}
}

func addrs(in ...string) []netip.Addr {
	out := make([]netip.Addr, 0, len(in))
	for _, s := range in {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func TestPodFromAPI(t *testing.T) {
	cases := []struct {
		name string
		pod  func(*corev1.Pod)
		want func(*Pod)
	}{
		{"a bare pod runs as default and has no owner", nil, nil},
		{"the namespace argument names the namespace, not metadata.namespace",
			func(p *corev1.Pod) { p.Namespace = "elsewhere" }, nil},
		{"host network and phase are copied",
			func(p *corev1.Pod) { p.Spec.HostNetwork, p.Status.Phase = true, corev1.PodRunning },
			func(p *Pod) { p.HostNetwork, p.Phase = true, corev1.PodRunning }},

		{"container ports of every container, an empty protocol is TCP",
			func(p *corev1.Pod) {
				p.Spec.Containers = []corev1.Container{
					{Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}}},
					{Ports: []corev1.ContainerPort{{ContainerPort: 9090, Protocol: corev1.ProtocolSCTP}}},
				}
			},
			func(p *Pod) {
				p.Ports = []ContainerPort{{"http", 8080, corev1.ProtocolTCP}, {"dns", 53, corev1.ProtocolUDP}, {"", 9090, corev1.ProtocolSCTP}}
			}},

		{"status.podIPs are the addresses, status.podIP is then ignored",
			func(p *corev1.Pod) {
				p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.5"}, {IP: "fd00::5"}}
				p.Status.PodIP = "10.0.0.9"
			},
			func(p *Pod) { p.IPs = addrs("10.0.0.5", "fd00::5") }},
		{"without status.podIPs, status.podIP",
			func(p *corev1.Pod) { p.Status.PodIP = "10.0.0.9" },
			func(p *Pod) { p.IPs = addrs("10.0.0.9") }},
		{"unparsable addresses are skipped",
			func(p *corev1.Pod) { p.Status.PodIPs = []corev1.PodIP{{IP: "not-an-ip"}, {IP: "10.0.0.5"}, {IP: ""}} },
			func(p *Pod) { p.IPs = addrs("10.0.0.5") }},
		{"an unparsable status.podIP gives no address",
			func(p *corev1.Pod) { p.Status.PodIP = "10.0.0.300" }, nil},

		{"ready when the PodReady condition is True",
			func(p *corev1.Pod) {
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: corev1.ConditionTrue}}
			},
			func(p *Pod) { p.Ready = true }},
		{"not ready when PodReady is False, whatever the other conditions",
			func(p *corev1.Pod) {
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: corev1.ConditionFalse}}
			}, nil},
		{"terminating when a deletionTimestamp is set",
			func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{} },
			func(p *Pod) { p.Terminating = true }},

		{"the service account from spec.serviceAccountName before the deprecated field",
			func(p *corev1.Pod) { p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount = "api", "legacy" },
			func(p *Pod) { p.ServiceAccount = "api" }},
		{"the deprecated serviceAccount field when it alone names one",
			func(p *corev1.Pod) { p.Spec.DeprecatedServiceAccount = "legacy" },
			func(p *Pod) { p.ServiceAccount = "legacy" }},

		{"a controller is the owner, its kind in lower case",
			func(p *corev1.Pod) { p.OwnerReferences = []metav1.OwnerReference{controlledBy("StatefulSet", "db")} },
			func(p *Pod) {
				p.Controller = &Owner{Kind: "statefulset", Name: "db"}
				p.Owner = &Owner{Kind: "statefulset", Name: "db"}
			}},
		{"an owner reference that is not the controller is no owner",
			func(p *corev1.Pod) {
				p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db"}}
			}, nil},
		{"a ReplicaSet named <deployment>-<pod-template-hash> stands for its Deployment",
			func(p *corev1.Pod) {
				p.Labels = map[string]string{"app": "web", "pod-template-hash": "7d4b9"}
				p.OwnerReferences = []metav1.OwnerReference{controlledBy("ReplicaSet", "web-7d4b9")}
			},
			func(p *Pod) {
				p.Labels = map[string]string{"app": "web", "pod-template-hash": "7d4b9"}
				p.Controller = &Owner{Kind: "replicaset", Name: "web-7d4b9"}
				p.Owner = &Owner{Kind: "deployment", Name: "web"}
			}},
		{"a ReplicaSet whose name does not end in the pod's hash is the owner itself",
			func(p *corev1.Pod) {
				p.Labels = map[string]string{"app": "web", "pod-template-hash": "other"}
				p.OwnerReferences = []metav1.OwnerReference{controlledBy("ReplicaSet", "web-7d4b9")}
			},
			func(p *Pod) {
				p.Labels = map[string]string{"app": "web", "pod-template-hash": "other"}
				p.Controller = &Owner{Kind: "replicaset", Name: "web-7d4b9"}
				p.Owner = &Owner{Kind: "replicaset", Name: "web-7d4b9"}
			}},
		{"a ReplicaSet is the owner itself when the pod has no pod-template-hash",
			func(p *corev1.Pod) { p.OwnerReferences = []metav1.OwnerReference{controlledBy("ReplicaSet", "web-")} },
			func(p *Pod) {
				p.Controller = &Owner{Kind: "replicaset", Name: "web-"}
				p.Owner = &Owner{Kind: "replicaset", Name: "web-"}
			}},
		{"only a ReplicaSet stands for a Deployment",
			func(p *corev1.Pod) {
				p.Labels = map[string]string{"app": "web", "pod-template-hash": "7d4b9"}
				p.OwnerReferences = []metav1.OwnerReference{controlledBy("Job", "web-7d4b9")}
			},
			func(p *Pod) {
				p.Labels = map[string]string{"app": "web", "pod-template-hash": "7d4b9"}
				p.Controller = &Owner{Kind: "job", Name: "web-7d4b9"}
				p.Owner = &Owner{Kind: "job", Name: "web-7d4b9"}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := PodFromAPI(apiPod(c.pod), "shop")
			if diff := cmp.Diff(modelPod(c.want), got, addrsEqual); diff != "" {
				t.Errorf("PodFromAPI (-want +got):\n%s", diff)
			}
		})
	}
}

// apiService is a ClusterIP-less Service "web" (selector app=web) with the
// edit applied.
func apiService(edit func(*corev1.Service)) *corev1.Service {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}}
	if edit != nil {
		edit(svc)
	}
	return svc
}

func modelService(edit func(*Service)) *Service {
	s := &Service{Namespace: "shop", Name: "web", Selector: map[string]string{"app": "web"}}
	if edit != nil {
		edit(s)
	}
	return s
}

func TestServiceFromAPI(t *testing.T) {
	cases := []struct {
		name string
		svc  func(*corev1.Service)
		want func(*Service)
	}{
		{"name, selector and the namespace argument", func(s *corev1.Service) { s.Namespace = "elsewhere" }, nil},
		{"ports keep name, port and target port; an empty protocol is TCP",
			func(s *corev1.Service) {
				s.Spec.Ports = []corev1.ServicePort{
					{Name: "http", Port: 80, TargetPort: intstr.FromString("http")},
					{Name: "dns", Port: 53, TargetPort: intstr.FromInt32(5353), Protocol: corev1.ProtocolUDP},
				}
			},
			func(s *Service) {
				s.Ports = []ServicePort{
					{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP},
					{Name: "dns", Port: 53, TargetPort: intstr.FromInt32(5353), Protocol: corev1.ProtocolUDP},
				}
			}},
		{"spec.clusterIPs are the addresses, spec.clusterIP is then ignored",
			func(s *corev1.Service) {
				s.Spec.ClusterIPs, s.Spec.ClusterIP = []string{"10.96.0.10", "fd00::10"}, "10.96.0.99"
			},
			func(s *Service) { s.ClusterIPs = addrs("10.96.0.10", "fd00::10") }},
		{"without spec.clusterIPs, spec.clusterIP",
			func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.10" },
			func(s *Service) { s.ClusterIPs = addrs("10.96.0.10") }},
		{"a headless Service (None) has no address",
			func(s *corev1.Service) { s.Spec.ClusterIPs, s.Spec.ClusterIP = []string{"None"}, "None" }, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ServiceFromAPI(apiService(c.svc), "shop")
			if diff := cmp.Diff(modelService(c.want), got, addrsEqual); diff != "" {
				t.Errorf("ServiceFromAPI (-want +got):\n%s", diff)
			}
		})
	}
}

func podIn(namespace, name string, phase corev1.PodPhase) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Status: corev1.PodStatus{Phase: phase}}
}

// podKeys lists the model's pods as namespace/name, marking terminating ones.
func podKeys(m *Model) []string {
	var out []string
	for _, p := range m.Pods {
		key := p.Key()
		if p.Terminating {
			key += " (terminating)"
		}
		out = append(out, key)
	}
	return out
}

func TestFromObjectsLeavesOutFinishedPods(t *testing.T) {
	pods := []corev1.Pod{
		podIn("shop", "done", corev1.PodSucceeded),
		podIn("shop", "crashed", corev1.PodFailed),
		podIn("shop", "running", corev1.PodRunning),
		podIn("shop", "pending", corev1.PodPending),
		podIn("shop", "unknown", corev1.PodUnknown),
		podIn("shop", "file", ""),
	}
	got := podKeys(FromObjects(nil, pods, nil, nil))
	want := []string{"shop/file", "shop/pending", "shop/running", "shop/unknown"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pods (-want +got):\n%s", diff)
	}
}

// A pod of a namespace being deleted can go at any moment, like a pod
// being deleted itself.
func TestFromObjectsMarksPodsOfTerminatingNamespaces(t *testing.T) {
	namespaces := []corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: "deleted", DeletionTimestamp: &metav1.Time{}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "phase"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
		{ObjectMeta: metav1.ObjectMeta{Name: "live"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
	}
	going := podIn("live", "going", corev1.PodRunning)
	going.DeletionTimestamp = &metav1.Time{}
	pods := []corev1.Pod{podIn("deleted", "a", corev1.PodRunning), podIn("phase", "b", corev1.PodRunning), podIn("live", "c", corev1.PodRunning), going}
	got := podKeys(FromObjects(namespaces, pods, nil, nil))
	want := []string{"deleted/a (terminating)", "live/c", "live/going (terminating)", "phase/b (terminating)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pods (-want +got):\n%s", diff)
	}
}

// FromObjects converts each kind in its own namespace and normalizes.
func TestFromObjectsConvertsAndNormalizes(t *testing.T) {
	namespaces := []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"team": "a"}}}}
	pods := []corev1.Pod{podIn("shop", "web-2", corev1.PodRunning), podIn("shop", "web-1", corev1.PodRunning)}
	pods[0].Status.PodIP = "10.0.0.2"
	services := []corev1.Service{{ObjectMeta: metav1.ObjectMeta{Namespace: "api", Name: "gw"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.1"}}}
	policies := []networkingv1.NetworkPolicy{{ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "deny"}}}
	m := FromObjects(namespaces, pods, services, policies)

	if diff := cmp.Diff([]string{"shop/web-1", "shop/web-2"}, podKeys(m)); diff != "" {
		t.Errorf("pods, sorted (-want +got):\n%s", diff)
	}
	if p := m.Pod("shop", "web-2"); p == nil || p.ServiceAccount != "default" || len(p.IPs) != 1 {
		t.Errorf("web-2 not converted by PodFromAPI: %+v", p)
	}
	if len(m.Services) != 1 || m.Services[0].Key() != "api/gw" || len(m.Services[0].ClusterIPs) != 1 {
		t.Errorf("services = %+v, want api/gw converted by ServiceFromAPI", m.Services)
	}
	if len(m.Policies) != 1 || m.Policies[0] != &policies[0] {
		t.Error("the policy is not the listed object itself")
	}
	want := map[string]map[string]string{
		"api":  {MetadataNameLabel: "api"},
		"db":   {MetadataNameLabel: "db"},
		"shop": {MetadataNameLabel: "shop", "team": "a"},
	}
	if diff := cmp.Diff(want, namespaceLabels(m)); diff != "" {
		t.Errorf("namespaces (-want +got):\n%s", diff)
	}
}

func namespaceLabels(m *Model) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, ns := range m.Namespaces {
		out[ns.Name] = ns.Labels
	}
	return out
}
