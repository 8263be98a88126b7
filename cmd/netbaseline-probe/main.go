// Command netbaseline-probe is the agent that runs inside ephemeral (or
// short-lived) containers: it executes the checks of a plan concurrently
// and prints one JSON line per check, then a summary to the termination
// log. It enforces the plan's deadline itself, so an interrupted CLI never
// leaves it running. With --observe it watches the pod's socket tables
// instead (discover), for a bounded window.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/netbaseline/kubectl-netbaseline/internal/probe/agent"
)

func main() {
	planArg := flag.String("plan", "", "the plan: base64 JSON (protocol version 1)")
	terminationLog := flag.String("termination-log", "/dev/termination-log", "where the summary goes")
	serve := flag.String("serve", "", "answer on these addresses instead (doctor --canary's target), e.g. :8080 or tcp:80,tcp:8080,udp:5353 (UDP echoes)")
	keepUntil := flag.String("keep-until", "", "after the plan, stay until this time (RFC 3339), so that later plans run in this container through kubectl exec")
	observe := flag.Duration("observe", 0, "instead of a plan: sample the pod's socket tables for this long (at most an hour), then print one JSON summary")
	interval := flag.Duration("observe-interval", 250*time.Millisecond, "how often --observe samples")
	flag.Parse()
	if *observe > 0 {
		// Never longer than an hour, whatever was asked.
		window := min(*observe, time.Hour)
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		ctx, cancel := context.WithTimeout(ctx, window)
		defer cancel()
		// A snapshot line every tenth of the window (at least 10 s): a CLI
		// interrupted early reads the last one. The final line is the report.
		enc := json.NewEncoder(os.Stdout)
		obs := agent.Observe(ctx, "/proc/net", max(*interval, 10*time.Millisecond), max(window/10, 10*time.Second),
			func(o agent.Observation) { _ = enc.Encode(o) })
		_ = enc.Encode(obs)
		_ = os.WriteFile(*terminationLog, []byte(agent.ObservationSummary(obs)), 0o644)
		return
	}
	if *serve != "" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		if err := agent.Serve(ctx, *serve); err != nil {
			fmt.Fprintln(os.Stderr, "netbaseline-probe:", err)
			os.Exit(1)
		}
		return
	}
	plan, err := agent.DecodePlan(*planArg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "netbaseline-probe:", err)
		_ = os.WriteFile(*terminationLog, []byte("netbaseline-probe: "+err.Error()), 0o644)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	results := agent.RunPlan(ctx, plan)
	enc := json.NewEncoder(os.Stdout)
	for _, r := range results {
		_ = enc.Encode(r)
	}
	_ = os.WriteFile(*terminationLog, []byte(agent.Summary(results)), 0o644)
	if *keepUntil != "" {
		until, err := time.Parse(time.RFC3339, *keepUntil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "netbaseline-probe: --keep-until:", err)
			os.Exit(2)
		}
		// Never longer than an hour, whatever was asked: the container
		// holds nothing but must not outstay its use.
		if latest := time.Now().Add(time.Hour); until.After(latest) {
			until = latest
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(until)):
		}
	}
}
