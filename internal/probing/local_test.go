package probing

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
)

// probe local's check on loopback: the status wanted, another one, and
// nothing listening.
func TestLocalCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(strings.Repeat("x", 1<<20))) // more than is read
	}))
	defer srv.Close()
	closed := func() string { // a loopback port nothing listens on
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr + "/"
	}()
	tests := []struct {
		url             string
		outcome, result string
		observed        string
	}{
		{srv.URL + "/", probe.Connected, probe.ResultOK, "HTTP 200"},
		{srv.URL + "/missing", probe.HTTPStatus, probe.ResultFail, "HTTP 404"},
		{closed, probe.Error, probe.ResultFail, "unreachable"},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.url)
		ob, err := LocalCheck{URL: u, Timeout: 5 * time.Second, Status: 200, Client: srv.Client()}.Run(context.Background())
		if err != nil || ob.Outcome != tt.outcome || ob.Result != tt.result || ob.Observed != tt.observed || ob.From != "local" || ob.Port != u.Port() {
			t.Errorf("%s: %+v %v", tt.url, ob, err)
		}
	}
	u, _ := url.Parse("http://127.0.0.1/")
	if ob, _ := (LocalCheck{URL: u, Timeout: time.Second, Status: 200, Client: &http.Client{Transport: refuse{}}}).Run(context.Background()); ob.Port != "80" {
		t.Errorf("the port of http:// without one: %q", ob.Port)
	}
}

// refuse is a transport that sends nothing anywhere.
type refuse struct{}

func (refuse) RoundTrip(*http.Request) (*http.Response, error) { return nil, net.ErrClosed }
