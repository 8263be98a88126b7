//go:build integration

package read

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/synth"
	"github.com/netbaseline/kubectl-netbaseline/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// countingTransport counts the list requests for pods and what they asked.
type countingTransport struct {
	next        http.RoundTripper
	podLists    atomic.Int32
	protobufAsk atomic.Int32
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/pods") {
		c.podLists.Add(1)
		if strings.HasPrefix(r.Header.Get("Accept"), "application/vnd.kubernetes.protobuf") {
			c.protobufAsk.Add(1)
		}
	}
	return c.next.RoundTrip(r)
}

// The live reader lists in pages and in protobuf, and a paged read is the
// same model as one read in a single response.
func TestIntegrationLiveReadsEveryPage(t *testing.T) {
	env := testenv.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m := synth.Model(synth.Options{Seed: 3, Namespaces: 2, Workloads: 4, MaxReplicas: 5, Policies: 9, PodsPerLabelSet: 2})
	prefix := fmt.Sprintf("pages-%d", time.Now().UnixNano()%100000)
	created := seedObjects(ctx, t, env.Config, m, prefix)

	counter := &countingTransport{}
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { counter.next = rt; return counter })
	c, err := NewClients(cfg)
	if err != nil {
		t.Fatal(err)
	}
	paged, err := LoadLive(ctx, c, LiveOptions{PageSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	whole, err := LoadLive(ctx, c, LiveOptions{PageSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	pods := func(keys []string) (n int) {
		for _, k := range keys {
			if strings.HasPrefix(k, prefix) {
				n++
			}
		}
		return n
	}
	var pagedKeys, wholeKeys []string
	for _, p := range paged.Pods {
		pagedKeys = append(pagedKeys, p.Key())
	}
	for _, p := range whole.Pods {
		wholeKeys = append(wholeKeys, p.Key())
	}
	if pods(pagedKeys) != created || pods(wholeKeys) != created {
		t.Fatalf("pods read: %d paged, %d whole; %d created", pods(pagedKeys), pods(wholeKeys), created)
	}
	if strings.Join(pagedKeys, ",") != strings.Join(wholeKeys, ",") || len(paged.Policies) != len(whole.Policies) {
		t.Errorf("paged and whole reads differ: %d/%d pods, %d/%d policies", len(pagedKeys), len(wholeKeys), len(paged.Policies), len(whole.Policies))
	}
	// Every pod in the cluster, 7 at a time, then once more in one go.
	total := len(whole.Pods)
	if want := int32((total+6)/7 + 1); counter.podLists.Load() != want {
		t.Errorf("%d pod list requests for %d pods in pages of 7 and one whole list, want %d", counter.podLists.Load(), total, want)
	}
	if counter.protobufAsk.Load() != counter.podLists.Load() {
		t.Errorf("%d of %d pod lists asked for protobuf", counter.protobufAsk.Load(), counter.podLists.Load())
	}
}

// seedObjects creates the model's namespaces (prefixed), pods with their
// status and policies, concurrently; it returns the number of pods.
func seedObjects(ctx context.Context, tb testing.TB, base *rest.Config, m *model.Model, prefix string) int {
	tb.Helper()
	cfg := rest.CopyConfig(base)
	cfg.QPS, cfg.Burst = -1, 0 // no client-side throttling while seeding
	cfg.WarningHandler = rest.NoWarnings{}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	objects := synth.APIObjects(m, nil)
	var namespaces []*corev1.Namespace
	var others []any
	for _, o := range objects {
		if ns, ok := o.(*corev1.Namespace); ok {
			ns = ns.DeepCopy()
			ns.Name = prefix + "-" + ns.Name
			namespaces = append(namespaces, ns)
		} else {
			others = append(others, o)
		}
	}
	for _, ns := range namespaces {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			tb.Fatal(err)
		}
	}
	var pods atomic.Int32
	work := make(chan any)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for o := range work {
				if err := createObject(ctx, cs, prefix, o, &pods); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for _, o := range others {
		work <- o
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		tb.Fatal(err)
	default:
	}
	return int(pods.Load())
}

func createObject(ctx context.Context, cs kubernetes.Interface, prefix string, o any, pods *atomic.Int32) error {
	switch o := o.(type) {
	case *corev1.Pod:
		p := o.DeepCopy()
		p.Namespace = prefix + "-" + p.Namespace
		p.OwnerReferences = nil // no ReplicaSet exists to own it
		status := p.Status
		if len(status.PodIPs) > 0 {
			status.PodIP = status.PodIPs[0].IP
		}
		created, err := cs.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		created.Status = status
		if _, err := cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			return err
		}
		pods.Add(1)
	case *networkingv1.NetworkPolicy:
		np := o.DeepCopy()
		np.Namespace = prefix + "-" + np.Namespace
		if _, err := cs.NetworkingV1().NetworkPolicies(np.Namespace).Create(ctx, np, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	return nil
}

var (
	seedLarge   sync.Once
	seededLarge int
	largePrefix = "bench"
)

// BenchmarkIntegrationLoadLive5000 reads a light-mode API server holding
// about 5,000 pods (50 namespaces, 1,000 policies, replicas with
// canary/version labels) as explain and doctor do: in pages of 500 and
// protobuf (the default), then JSON in pages, then JSON in one response.
// hack/bench-live.sh runs it.
func BenchmarkIntegrationLoadLive5000(b *testing.B) {
	env := testenv.Require(b)
	ctx := context.Background()
	seedLarge.Do(func() {
		m := synth.Model(synth.Options{Seed: 42, Namespaces: 50, Workloads: 10, MaxReplicas: 19, Policies: 1000, PodsPerLabelSet: 4})
		start := time.Now()
		seededLarge = seedObjects(ctx, b, env.Config, m, largePrefix)
		b.Logf("created %d pods in %s", seededLarge, time.Since(start).Round(time.Second))
	})
	jsonCfg := rest.CopyConfig(env.Config)
	jsonCfg.WarningHandler = rest.NoWarnings{}
	json, err := kubernetes.NewForConfig(jsonCfg)
	if err != nil {
		b.Fatal(err)
	}
	protobuf, err := NewClients(jsonCfg)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		clients  Clients
		pageSize int64
	}{
		{"protobuf-pages-of-500", Clients{Kube: protobuf.Kube}, 0},
		{"json-pages-of-500", Clients{Kube: json}, 0},
		{"json-one-response", Clients{Kube: json}, -1},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m, err := LoadLive(ctx, c.clients, LiveOptions{PageSize: c.pageSize})
				if err != nil {
					b.Fatal(err)
				}
				if len(m.Pods) < seededLarge {
					b.Fatalf("read %d pods, %d created", len(m.Pods), seededLarge)
				}
			}
		})
	}
}
