//go:build browser

package cmd

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/netbaseline/kubectl-netbaseline/internal/synth"
)

// The -o html page in a real headless Chromium: it loads from file://
// with no network, shows the namespace grid, a click on a namespace pair
// shows its groups, a click on a group pair shows the explanation with
// the policy and rule that decided each side.

// chromium finds the browser (Debian's package: hack/tools/chromium.sh).
func chromium(t testing.TB) string {
	for _, p := range []string{os.Getenv("NETBASELINE_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	if os.Getenv("NETBASELINE_REQUIRE_BROWSER") == "1" {
		t.Fatal("chromium not found: run hack/tools/chromium.sh")
	}
	t.Skip("chromium not found (hack/tools/chromium.sh installs it; NETBASELINE_REQUIRE_BROWSER=1 makes this a failure)")
	return ""
}

// browser starts a headless Chromium with no network access besides
// file:// and fails the test on any uncaught script error.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Flag("proxy-server", "127.0.0.1:9"),
		chromedp.Flag("proxy-bypass-list", "<-loopback>"),
		chromedp.WindowSize(1400, 1000),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			t.Errorf("script error in the page at line %d: %s", d.LineNumber+1, msg)
		}
	}); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// writePage runs explain with args and writes its page to a file.
func writePage(t *testing.T, args ...string) string {
	t.Helper()
	r := run(t, append([]string{"explain"}, args...)...)
	if r.code != 0 {
		t.Fatalf("explain %v: exit %d: %s", args, r.code, r.stderr)
	}
	p := filepath.Join(t.TempDir(), "matrix.html")
	if err := os.WriteFile(p, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// screenshot keeps a picture of the page in $NETBASELINE_ARTIFACTS (else
// the test's temporary directory).
func screenshot(t *testing.T, ctx context.Context, name string) {
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 is PNG
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("NETBASELINE_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", p, len(png))
}

// open loads a page and waits until its script has run.
func open(t *testing.T, ctx context.Context, page string) time.Duration {
	t.Helper()
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+page)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool]("window.netbaselineReady === true", chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

func count(t *testing.T, ctx context.Context, css string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", css)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func click(t *testing.T, ctx context.Context, css, then string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(css)), chromedp.WaitVisible(chromedp.CSS(then))); err != nil {
		t.Fatalf("click %s: %v", css, err)
	}
}

func TestBrowserHTMLSampleApp(t *testing.T) {
	page := writePage(t, append(sampleFiles(t), "--matrix", "-A", "-o", "html")...)
	ctx := browser(t)
	t.Logf("sample app page interactive after %s", open(t, ctx, page).Round(time.Millisecond))
	summary := text(t, ctx, "#summary")
	if rows := count(t, ctx, "#nstable tbody tr"); rows != 5 || !strings.Contains(summary, "5 source groups") {
		t.Errorf("namespace grid: %d rows; summary %q", rows, summary)
	}
	// Partial cells are shaded by their share, each its own colour.
	shades, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#nstable td.cell.some")].map(td => td.textContent + " " + td.style.background)`))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shades {
		if !strings.Contains(s, "color-mix") {
			t.Errorf("a partial cell without its shade: %q", s)
		}
	}
	if len(shades) == 0 {
		t.Error("the sample app's matrix has no partial namespace cell to shade")
	}
	click(t, ctx, `#nstable td[data-src-ns="frontend-dev"][data-dst-ns="backend-dev"]`, "#grouptable")
	if title := text(t, ctx, "#pair h2"); title != "frontend-dev → backend-dev" {
		t.Errorf("pair title %q", title)
	}
	click(t, ctx, "#grouptable td.cell", "#details .verdict")
	details := text(t, ctx, "#details")
	for _, want := range []string{
		"frontend-dev/deploy/frontend → backend-dev/deploy/backend",
		"http (3001/TCP)",
		"allowed by policy frontend-dev/allow-to-backend, rule 0",
		"allowed by policy backend-dev/allow-from-frontend, rule 0",
		"kubectl netbaseline explain frontend-dev/frontend backend-dev/backend:3001/tcp",
	} {
		if !strings.Contains(details, want) {
			t.Errorf("explanation lacks %q:\n%s", want, details)
		}
	}
	screenshot(t, ctx, "html-sample-app.png")

	// Denied only: an allowed pair (DNS) is greyed out, a denied one is not.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelectorAll(".filter").forEach(f => { f.checked = f.value === "denied"; f.dispatchEvent(new Event("change")); }); true`)); err != nil {
		t.Fatal(err)
	}
	if n := count(t, ctx, `#nstable td.hidden[data-src-ns="backend-dev"][data-dst-ns="kube-system"]`); n != 1 {
		t.Errorf("denied filter: backend-dev -> kube-system (DNS, allowed) still shown")
	}
	if n := count(t, ctx, `#nstable td.denied[data-src-ns="backend-dev"][data-dst-ns="frontend-dev"]`); n != 1 {
		t.Errorf("denied filter: backend-dev -> frontend-dev not shown as denied")
	}

	// Search narrows the grid to the namespaces with a matching group.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("search"), "prometheus"), chromedp.Sleep(400*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if rows := count(t, ctx, "#nstable tbody tr"); rows != 1 {
		t.Errorf("search prometheus: %d rows, want 1", rows)
	}
}

// A generated cluster with canary/version labels: the page loads, and a
// namespace pair opens to groups whose explanation names both sides.
func TestBrowserHTMLGeneratedCluster(t *testing.T) {
	pods := 2000
	if testing.Short() {
		pods = 500
	}
	m := synth.Model(synth.Options{Seed: 42, Namespaces: pods / 100, Workloads: 10, MaxReplicas: 19, Policies: pods / 5, PodsPerLabelSet: 4})
	file := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := synth.WriteManifestsFile(file, m); err != nil {
		t.Fatal(err)
	}
	page := writePage(t, "-f", file, "--matrix", "-A", "-o", "html")
	info, _ := os.Stat(page)
	ctx := browser(t)
	t.Logf("%d pods, page of %d KiB interactive after %s", len(m.Pods), info.Size()/1024, open(t, ctx, page).Round(time.Millisecond))
	if rows := count(t, ctx, "#nstable tbody tr"); rows != len(m.Namespaces) {
		t.Errorf("namespace grid: %d rows, want %d", rows, len(m.Namespaces))
	}
	click(t, ctx, `#nstable td[data-src-ns="ns-1"][data-dst-ns="ns-2"]`, "#grouptable td.cell:not(.empty)")
	click(t, ctx, "#grouptable td.cell:not(.empty)", "#details .verdict")
	details := text(t, ctx, "#details")
	if !strings.Contains(details, "egress of ns-1/") || !strings.Contains(details, "ingress of ns-2/") || !strings.Contains(details, "kubectl netbaseline explain ns-1/") {
		t.Errorf("explanation of a cell:\n%s", details)
	}
	screenshot(t, ctx, fmt.Sprintf("html-generated-%d.png", len(m.Pods)))
}

// TestBrowserHTMLPage times a page given in $NETBASELINE_HTML_PAGE
// (hack/bench-html.sh writes one of a 5,000-pod cluster): until the
// namespace grid is interactive, then a namespace pair and a cell.
func TestBrowserHTMLPage(t *testing.T) {
	page := os.Getenv("NETBASELINE_HTML_PAGE")
	if page == "" {
		t.Skip("NETBASELINE_HTML_PAGE names no page (hack/bench-html.sh sets it)")
	}
	ctx := browser(t)
	loaded := open(t, ctx, page)
	start := time.Now()
	click(t, ctx, "#nstable td.cell", "#grouptable")
	pair := time.Since(start)
	start = time.Now()
	click(t, ctx, "#grouptable td.cell:not(.empty)", "#details .verdict")
	cell := time.Since(start)
	fmt.Printf("page interactive after %s; a namespace pair opens in %s, a cell's explanation in %s\n", loaded.Round(time.Millisecond), pair.Round(time.Millisecond), cell.Round(time.Millisecond))
	screenshot(t, ctx, "html-page.png")
}
