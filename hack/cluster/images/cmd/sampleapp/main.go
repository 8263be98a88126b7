// sampleapp: the runbook's sample app and its neighbours for the local
// cluster, one static binary with a role per flag:
//
//	sampleapp -role backend     /api/health on :3001, /metrics on :8080
//	sampleapp -role frontend    / on :3000 (/api/* proxied to -upstream), /metrics on :8080
//	sampleapp -role ingress     ingress-nginx stand-in on :80: /api/* -> -api, the rest -> -upstream
//	sampleapp -role prometheus  scrapes -targets every -interval; /targets on :9090 says which are up
//	sampleapp -role external    the "internet" host: /api/health on every -listen address
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	role := flag.String("role", "backend", "backend|frontend|ingress|prometheus|external")
	addr := flag.String("addr", "", "listen address (default by role)")
	metricsAddr := flag.String("metrics-addr", ":8080", "metrics listen address (backend, frontend)")
	upstream := flag.String("upstream", "", "frontend: where /api goes; ingress: where / goes")
	api := flag.String("api", "", "ingress: where /api goes")
	targets := flag.String("targets", "", "prometheus: comma-separated URLs to scrape")
	interval := flag.Duration("interval", 5*time.Second, "prometheus: scrape interval")
	listen := flag.String("listen", ":80,:443", "external: comma-separated listen addresses")
	flag.Parse()
	host, _ := os.Hostname()
	var hits atomic.Int64

	defaults := map[string]string{"backend": ":3001", "frontend": ":3000", "ingress": ":80", "prometheus": ":9090"}
	if *addr == "" {
		*addr = defaults[*role]
	}
	health := func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"status\":\"ok\",\"role\":%q,\"host\":%q}\n", *role, host)
	}
	metrics := func() {
		m := http.NewServeMux()
		m.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			fmt.Fprintf(w, "# TYPE sampleapp_requests_total counter\nsampleapp_requests_total{role=%q} %d\n", *role, hits.Load())
		})
		go serve(*metricsAddr, m)
	}
	mux := http.NewServeMux()
	switch *role {
	case "backend":
		metrics()
		mux.HandleFunc("/api/health", health)
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			fmt.Fprintf(w, "backend %s: %s %s\n", host, r.Method, r.URL.Path)
		})
	case "frontend":
		metrics()
		if *upstream != "" {
			mux.Handle("/api/", proxy(*upstream))
		}
		mux.HandleFunc("/healthz", health)
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			fmt.Fprintf(w, "<html><body>frontend %s</body></html>\n", host)
		})
	case "ingress":
		mux.Handle("/api/", proxy(*api))
		mux.Handle("/", proxy(*upstream))
	case "prometheus":
		scraper(mux, strings.Split(*targets, ","), *interval)
	case "external":
		mux.HandleFunc("/api/health", health)
		mux.HandleFunc("/", health)
		addrs := strings.Split(*listen, ",")
		for _, a := range addrs[1:] {
			go serve(a, mux)
		}
		*addr = addrs[0]
	default:
		log.Fatalf("unknown role %q", *role)
	}
	serve(*addr, mux)
}

func serve(addr string, h http.Handler) {
	log.Printf("listening on %s", addr)
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

func proxy(target string) http.Handler {
	u, err := url.Parse(target)
	if err != nil || target == "" {
		log.Fatalf("bad upstream %q", target)
	}
	p := httputil.NewSingleHostReverseProxy(u)
	p.Transport = &http.Transport{ResponseHeaderTimeout: 5 * time.Second}
	return p
}

// scraper polls the targets like Prometheus would and reports up/down.
func scraper(mux *http.ServeMux, targets []string, interval time.Duration) {
	var mu sync.Mutex
	state := map[string]string{}
	client := &http.Client{Timeout: 2 * time.Second}
	go func() {
		for {
			for _, t := range targets {
				if t == "" {
					continue
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, t, nil)
				status := "down"
				if resp, err := client.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						status = "up"
					}
				}
				cancel()
				mu.Lock()
				state[t] = status
				mu.Unlock()
			}
			time.Sleep(interval)
		}
	}()
	mux.HandleFunc("/targets", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(state)
	})
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
}
