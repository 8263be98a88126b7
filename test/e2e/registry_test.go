//go:build e2e

package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test bed's registries, as make cluster-up exports them.
func registryEnv(t *testing.T, names ...string) []string {
	t.Helper()
	var vals []string
	for _, n := range names {
		v := os.Getenv(n)
		if v == "" {
			t.Fatalf("%s is not set: source the env make cluster-up prints", n)
		}
		vals = append(vals, v)
	}
	return vals
}

// digestOf is the sha256:… part of an image reference pinned by digest.
func digestOf(t *testing.T, ref string) (repo, digest string) {
	t.Helper()
	repo, digest, ok := strings.Cut(ref, "@")
	if !ok {
		t.Fatalf("%q is not pinned by digest", ref)
	}
	return repo, digest
}

const registryNS = "registry-e2e"

// registryApp is two sample-app pods: one may pull from the private
// registry through its imagePullSecret, the other has no secret.
func registryApp(private, user, password string) string {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	config, _ := json.Marshal(map[string]any{"auths": map[string]any{private: map[string]string{"auth": auth}}})
	pod := func(name, secrets string) string {
		return `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ` + name + `, namespace: ` + registryNS + `}
spec:
  selector: {matchLabels: {app: ` + name + `}}
  template:
    metadata: {labels: {app: ` + name + `}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 65534, seccompProfile: {type: RuntimeDefault}}` + secrets + `
      containers:
      - name: app
        image: ` + sampleAppTag + `
        args: ["-role", "backend", "-addr", "0.0.0.0:3001", "-metrics-addr", "0.0.0.0:8080"]
        ports: [{name: http, containerPort: 3001}]
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
`
	}
	return `apiVersion: v1
kind: Namespace
metadata: {name: ` + registryNS + `}
---
apiVersion: v1
kind: Secret
metadata: {name: private-registry, namespace: ` + registryNS + `}
type: kubernetes.io/dockerconfigjson
data: {.dockerconfigjson: ` + base64.StdEncoding.EncodeToString(config) + `}
` + pod("with-secret", "\n      imagePullSecrets: [{name: private-registry}]") + pod("without-secret", "")
}

// Private-registry users pass --image; the agent is pulled with the source
// pod's own imagePullSecrets, in an ephemeral container and in --mode=pod,
// and a pod without them is refused with a message that says why.
func TestProbeImageFromPrivateRegistry(t *testing.T) {
	env := registryEnv(t, "NETBASELINE_PRIVATE_REGISTRY", "NETBASELINE_PRIVATE_REGISTRY_USER", "NETBASELINE_PRIVATE_REGISTRY_PASSWORD_FILE")
	password, err := os.ReadFile(env[2])
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	must(t, runCmd(ctx, withImages(registryApp(env[0], env[1], strings.TrimSpace(string(password)))), kubectl, "apply", "-f", "-"), "apply registry app")
	t.Cleanup(func() { kube(t, "delete", "namespace", registryNS, "--wait=true", "--timeout=120s") })
	for _, d := range []string{"with-secret", "without-secret"} {
		kube(t, "-n", registryNS, "rollout", "status", "deploy/"+d, "--timeout=120s")
	}
	_, digest := digestOf(t, probeImage)
	private := env[0] + "/netbaseline/netbaseline-probe@" + digest
	// Always: the kubelet asks the registry (with the pod's credentials)
	// even though the node already holds the same digest from the public one.
	image := []string{"--image", private, "--image-pull-policy", "Always"}

	for _, mode := range []string{"ephemeral", "pod"} {
		obs, code, stderr := probe(t, append([]string{registryNS + "/deploy/with-secret", registryNS + "/deploy/without-secret:http", "--mode", mode}, image...)...)
		if len(obs) != 1 {
			t.Fatalf("--mode %s: exit %d %v %s", mode, code, results(obs), stderr)
		}
		allOK(t, obs, code, stderr)
		if !strings.Contains(stderr, private) {
			t.Errorf("--mode %s: the announced image is not %s: %s", mode, private, stderr)
		}
	}

	obs, code, stderr := probe(t, append([]string{registryNS + "/deploy/without-secret", registryNS + "/deploy/with-secret:http", "--mode", "pod"}, image...)...)
	if code == 0 || len(obs) != 0 && obs[0].Result == "ok" {
		t.Fatalf("a pod without the pull secret probed: exit %d %v", code, results(obs))
	}
	t.Logf("refused as expected: %s", stderr)
	for _, want := range []string{"the probe container cannot start", private} {
		if !strings.Contains(stderr, want) {
			t.Errorf("pull refusal: missing %q in %s", want, stderr)
		}
	}
	if !strings.Contains(strings.ToLower(stderr), "authoriz") && !strings.Contains(stderr, "401") {
		t.Errorf("pull refusal does not say the registry wants credentials: %s", stderr)
	}
}

// A registry that answers a digest with other bytes is refused: this
// stand-in registry proxies the real one but serves the genuine manifest
// under a digest it does not have. The node must refuse it, and the same
// proxy serving honestly must work (so the refusal is the digest's).
func TestImageDigestMismatchIsRefused(t *testing.T) {
	env := registryEnv(t, "NETBASELINE_REGISTRY", "NETBASELINE_REGISTRY_CA", "NETBASELINE_TAMPER_REGISTRY")
	caPEM, err := os.ReadFile(env[1])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("no certificate in %s", env[1])
	}
	upstream := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: pool}}}
	repo, genuine := digestOf(t, probeImage)
	name := strings.TrimPrefix(repo, env[0]+"/") // netbaseline/netbaseline-probe

	get := func(path, accept string) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodGet, "https://"+env[0]+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := upstream.Do(req)
		if err != nil {
			t.Errorf("upstream %s: %v", path, err)
			return nil, nil
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	accept := "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json"
	resp, manifest := get("/v2/"+name+"/manifests/"+genuine, accept)
	if resp == nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("fetch the genuine manifest: %v", resp)
	}
	mediaType := resp.Header.Get("Content-Type")
	sum := sha256.Sum256(append(append([]byte{}, manifest...), ' '))
	forged := "sha256:" + hex.EncodeToString(sum[:])

	var mu sync.Mutex
	asked := map[string]int{}
	tamper := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked[r.URL.Path]++
		mu.Unlock()
		const prefix = "/v2/tampered/netbaseline-probe/"
		switch {
		case r.URL.Path == "/v2/" || r.URL.Path == "/v2":
			w.WriteHeader(http.StatusOK)
		case r.URL.Path == prefix+"manifests/"+forged || r.URL.Path == prefix+"manifests/"+genuine:
			// the genuine bytes under whichever digest was asked for
			digest := strings.TrimPrefix(r.URL.Path, prefix+"manifests/")
			w.Header().Set("Content-Type", mediaType)
			w.Header().Set("Docker-Content-Digest", digest)
			w.Header().Set("Content-Length", fmt.Sprint(len(manifest)))
			if r.Method != http.MethodHead {
				_, _ = w.Write(manifest)
			}
		case strings.HasPrefix(r.URL.Path, prefix):
			// everything else (blobs, child manifests) from the real registry
			resp, body := get("/v2/"+name+"/"+strings.TrimPrefix(r.URL.Path, prefix), r.Header.Get("Accept"))
			if resp == nil {
				http.Error(w, "upstream failed", http.StatusBadGateway)
				return
			}
			for _, h := range []string{"Content-Type", "Docker-Content-Digest"} {
				w.Header().Set(h, resp.Header.Get(h))
			}
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.WriteHeader(resp.StatusCode)
			if r.Method != http.MethodHead {
				_, _ = w.Write(body)
			}
		default:
			http.NotFound(w, r)
		}
	})
	ln, err := net.Listen("tcp", env[2])
	if err != nil {
		t.Fatalf("listen on %s (containerd trusts it as a plain-HTTP registry): %v", env[2], err)
	}
	srv := &http.Server{Handler: tamper, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	deploySampleApp(t)
	from, to := "frontend-dev/deploy/frontend", "backend-dev/deploy/backend:http"
	honest := env[2] + "/tampered/netbaseline-probe@" + genuine
	obs, code, stderr := probe(t, from, to, "--mode", "pod", "--image", honest, "--image-pull-policy", "Always")
	allOK(t, obs, code, stderr)

	lying := env[2] + "/tampered/netbaseline-probe@" + forged
	obs, code, stderr = probe(t, from, to, "--mode", "pod", "--image", lying, "--image-pull-policy", "Always")
	if code == 0 || len(obs) != 0 && obs[0].Result == "ok" {
		t.Fatalf("an image whose bytes do not match its digest ran: exit %d %v %s", code, results(obs), stderr)
	}
	t.Logf("refused as expected: %s", stderr)
	if !strings.Contains(stderr, "the probe container cannot start") || !strings.Contains(stderr, forged) {
		t.Errorf("refusal: %s", stderr)
	}
	if !strings.Contains(strings.ToLower(stderr), "digest") {
		t.Errorf("the refusal does not name the digest mismatch: %s", stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if asked["/v2/tampered/netbaseline-probe/manifests/"+forged] == 0 {
		t.Errorf("the node never asked the tampering registry for %s: %v", forged, asked)
	}
}
