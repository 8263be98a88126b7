// Package testenv runs the local cluster's light mode for integration
// tests: etcd, kube-apiserver and kube-controller-manager (so namespaces
// really finish deleting) on free loopback ports, in seconds. Each test
// binary starts its own, so packages can run in parallel.
//
// The binaries come from hack/cluster/build.sh ($NETBASELINE_CLUSTER_BIN,
// default /var/cache/netbaseline-cluster/bin). Without them the tests skip,
// unless NETBASELINE_REQUIRE_TESTENV=1 (CI), which makes them fail loudly.
package testenv

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// Env is a running API server.
type Env struct {
	// Config authenticates as a cluster admin (system:masters).
	Config *rest.Config
	// Kubeconfig is a file with the same credentials, for the plugin's
	// --kubeconfig flag.
	Kubeconfig string
	dir        string
	procs      []*exec.Cmd
}

const adminToken = "netbaseline-test-admin"

// BinDir is where the cluster binaries are.
func BinDir() string {
	if d := os.Getenv("NETBASELINE_CLUSTER_BIN"); d != "" {
		return d
	}
	return "/var/cache/netbaseline-cluster/bin"
}

// Available says why the light mode cannot start, or "" when it can.
func Available() string {
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager"} {
		if _, err := os.Stat(filepath.Join(BinDir(), b)); err != nil {
			return fmt.Sprintf("%s not found in %s: run make cluster-build (hack/cluster/build.sh)", b, BinDir())
		}
	}
	return ""
}

var shared *Env
var sharedErr error

// Main runs a package's tests around one shared Env; call it from TestMain.
func Main(m *testing.M) {
	if reason := Available(); reason != "" {
		sharedErr = fmt.Errorf("light-mode cluster unavailable: %s", reason)
		os.Exit(m.Run())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	shared, sharedErr = Start(ctx)
	cancel()
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	os.Exit(code)
}

// Require returns the package's Env; it skips the test when the binaries
// are missing, or fails it when NETBASELINE_REQUIRE_TESTENV=1.
func Require(t testing.TB) *Env {
	t.Helper()
	if shared != nil {
		return shared
	}
	err := sharedErr
	if err == nil {
		err = fmt.Errorf("testenv.Main was not called from TestMain")
	}
	if os.Getenv("NETBASELINE_REQUIRE_TESTENV") == "1" {
		t.Fatalf("%v", err)
	}
	t.Skipf("%v (set NETBASELINE_REQUIRE_TESTENV=1 to make this a failure)", err)
	return nil
}

// Start launches etcd, kube-apiserver and kube-controller-manager.
func Start(ctx context.Context) (*Env, error) {
	dir, err := os.MkdirTemp("", "netbaseline-testenv-")
	if err != nil {
		return nil, err
	}
	e := &Env{dir: dir}
	if err := e.start(ctx); err != nil {
		e.Stop()
		return nil, err
	}
	return e, nil
}

func (e *Env) start(ctx context.Context) error {
	bin := BinDir()
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	etcdClient, etcdPeer, apiPort := ports[0], ports[1], ports[2]
	ca, err := writePKI(e.dir)
	if err != nil {
		return err
	}
	tokens := filepath.Join(e.dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(adminToken+",admin,admin-uid,system:masters\n"), 0o600); err != nil {
		return err
	}

	clientURL := "http://127.0.0.1:" + strconv.Itoa(etcdClient)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(etcdPeer)
	if err := e.run("etcd", filepath.Join(bin, "etcd"),
		"--data-dir", filepath.Join(e.dir, "etcd"), "--name", "testenv",
		"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "testenv="+peerURL, "--unsafe-no-fsync", "--log-level", "error"); err != nil {
		return err
	}
	server := "https://127.0.0.1:" + strconv.Itoa(apiPort)
	if err := e.run("kube-apiserver", filepath.Join(bin, "kube-apiserver"),
		"--etcd-servers", clientURL, "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(apiPort),
		"--tls-cert-file", filepath.Join(e.dir, "apiserver.crt"), "--tls-private-key-file", filepath.Join(e.dir, "apiserver.key"),
		"--token-auth-file", tokens, "--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", filepath.Join(e.dir, "sa.pub"), "--service-account-signing-key-file", filepath.Join(e.dir, "sa.key"),
		"--service-cluster-ip-range", "198.19.0.0/16", "--allow-privileged=true", "--profiling=false",
		"--cert-dir", filepath.Join(e.dir, "certs")); err != nil {
		return err
	}
	e.Config = &rest.Config{Host: server, BearerToken: adminToken, TLSClientConfig: rest.TLSClientConfig{CAData: ca}, QPS: 100, Burst: 200}
	e.Kubeconfig = filepath.Join(e.dir, "kubeconfig")
	if err := os.WriteFile(e.Kubeconfig, []byte(kubeconfig(server, ca)), 0o600); err != nil {
		return err
	}
	if err := waitReady(ctx, server, ca); err != nil {
		return fmt.Errorf("kube-apiserver: %w (log: %s)", err, filepath.Join(e.dir, "kube-apiserver.log"))
	}
	return e.run("kube-controller-manager", filepath.Join(bin, "kube-controller-manager"),
		"--kubeconfig", e.Kubeconfig, "--leader-elect=false", "--secure-port=0",
		"--controllers", "namespace,serviceaccount,serviceaccount-token,garbagecollector",
		"--service-account-private-key-file", filepath.Join(e.dir, "sa.key"),
		"--root-ca-file", filepath.Join(e.dir, "ca.crt"))
}

func (e *Env) run(name, path string, args ...string) error {
	logFile, err := os.Create(filepath.Join(e.dir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// The processes die with the test binary even if it crashes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	e.procs = append(e.procs, cmd)
	return nil
}

// Stop kills the processes (newest first) and removes the state.
func (e *Env) Stop() {
	for i := len(e.procs) - 1; i >= 0; i-- {
		p := e.procs[i]
		_ = p.Process.Kill()
		_, _ = p.Process.Wait()
	}
	if os.Getenv("NETBASELINE_KEEP_TESTENV") == "" {
		_ = os.RemoveAll(e.dir)
	}
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func waitReady(ctx context.Context, server string, ca []byte) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("/readyz: %s", resp.Status)
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %v", last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func kubeconfig(server string, ca []byte) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: testenv
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: testenv
  context: {cluster: testenv, user: admin, namespace: default}
current-context: testenv
`, server, b64(ca), adminToken)
}

// writePKI writes a CA, the API server's serving certificate for
// 127.0.0.1 and the service account key pair; it returns the CA PEM.
func writePKI(dir string) ([]byte, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "netbaseline-testenv-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kube-apiserver"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost", "kubernetes.default.svc"},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	srvKeyDER, _ := x509.MarshalECPrivateKey(srvKey)
	saPub, _ := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	files := map[string][]byte{
		"ca.crt":        caPEM,
		"apiserver.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER}),
		"apiserver.key": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: srvKeyDER}),
		"sa.key":        pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)}),
		"sa.pub":        pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub}),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return nil, err
		}
	}
	return caPEM, nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
