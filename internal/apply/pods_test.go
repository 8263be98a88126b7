package apply

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

func shopPod(name string, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{"app": name}},
		Status: corev1.PodStatus{Phase: phase}}
}

// The transition sees the pods as every other reader does
// (model.PodFromAPI), finished pods left out.
func TestPodsAreReadThroughTheModel(t *testing.T) {
	web := shopPod("web", corev1.PodRunning)
	web.Spec.ServiceAccountName = "api"
	web.Spec.Containers = []corev1.Container{{Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}
	web.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.5"}}
	cs := fake.NewClientset(web, shopPod("pending", corev1.PodPending),
		shopPod("done", corev1.PodSucceeded), shopPod("crashed", corev1.PodFailed))
	got, err := (&Applier{Client: cs}).pods(context.Background(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, p := range got {
		keys = append(keys, p.Key())
	}
	if diff := cmp.Diff([]string{"shop/pending", "shop/web"}, keys); diff != "" {
		t.Fatalf("pods (-want +got):\n%s", diff)
	}
	addrsEqual := cmp.Comparer(func(a, b netip.Addr) bool { return a == b })
	if diff := cmp.Diff(model.PodFromAPI(web, "shop"), got[1], addrsEqual); diff != "" {
		t.Errorf("web is not PodFromAPI's (-want +got):\n%s", diff)
	}
}

func TestPodsUnreadableSaysWhatNeedsThem(t *testing.T) {
	cs := fake.NewClientset()
	cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", nil)
	})
	_, err := (&Applier{Client: cs}).pods(context.Background(), "shop")
	if err == nil || !strings.HasPrefix(err.Error(), "the transition needs the labels of the namespace's pods: ") {
		t.Errorf("err = %v", err)
	}
}
