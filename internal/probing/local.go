package probing

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
)

// LocalCheck is probe local's HTTP check from this machine.
type LocalCheck struct {
	URL     *url.URL
	Timeout time.Duration
	// Status is the HTTP status that counts as ok.
	Status int
	// Client sends the request (nil: http.DefaultClient).
	Client *http.Client
}

// Run makes the request and says what it observed: unreachable, the
// status wanted, or another one. Only the first 64 KiB of the body are
// read.
func (c LocalCheck) Run(ctx context.Context) (probe.Observation, error) {
	ob := probe.Observation{From: "local", To: c.URL.String(), Port: c.URL.Port(), Kind: probe.KindHTTP, Expected: policy.Unspecified}
	if ob.Port == "" {
		ob.Port = map[string]string{"http": "80", "https": "443"}[c.URL.Scheme]
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL.String(), nil)
	if err != nil {
		return ob, err
	}
	client := c.Client
	if client == nil {
		client = http.DefaultClient
	}
	start := time.Now()
	resp, err := client.Do(req)
	ob.MS = time.Since(start).Milliseconds()
	if err != nil {
		ob.Outcome, ob.Detail = probe.Error, err.Error()
		ob.Observed, ob.Result = "unreachable", probe.ResultFail
		return ob, nil
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	ob.Detail = fmt.Sprintf("HTTP %d", resp.StatusCode)
	ob.Observed = ob.Detail
	ob.Outcome, ob.Result = probe.Connected, probe.ResultOK
	if resp.StatusCode != c.Status {
		ob.Outcome, ob.Result = probe.HTTPStatus, probe.ResultFail
		ob.Detail += fmt.Sprintf(" (want %d)", c.Status)
	}
	return ob, nil
}
