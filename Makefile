# kubectl netbaseline — thin wrappers over go and hack/ scripts.
SHELL := /bin/bash
.DEFAULT_GOAL := build

MODULE  := github.com/netbaseline/kubectl-netbaseline
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell git log -1 --format=%cI 2>/dev/null)
# PROBE_IMAGE stamps the default agent image (REGISTRY/netbaseline-probe@sha256:…);
# left empty, the build is a development build and probes need --image.
PROBE_IMAGE ?=
LDFLAGS := -s -w -X $(MODULE)/internal/version.Version=$(VERSION) -X $(MODULE)/internal/version.Commit=$(COMMIT) -X $(MODULE)/internal/version.Date=$(DATE) -X $(MODULE)/internal/version.probeImage=$(PROBE_IMAGE)
GO      ?= go
# The plugin and the agent are built, tested and released with the exact Go
# release of go.mod's toolchain line (fetched once from the Go module proxy);
# NB_GOTOOLCHAIN=goX.Y.Z overrides it. hack/toolchain.sh does the same for
# the scripts run outside make.
NB_GOTOOLCHAIN ?= $(shell sed -n 's/^toolchain[[:space:]]*//p' go.mod)
export NB_GOTOOLCHAIN
export GOTOOLCHAIN := $(NB_GOTOOLCHAIN)
NB_TOOLS_HOME ?= /var/cache/netbaseline-tools
BIN     := bin

.PHONY: build
build: ## Build bin/kubectl-netbaseline
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/kubectl-netbaseline ./cmd/kubectl-netbaseline

.PHONY: install
install: ## go install the plugin (puts kubectl-netbaseline on PATH)
	CGO_ENABLED=0 $(GO) install -trimpath -ldflags '$(LDFLAGS)' ./cmd/kubectl-netbaseline

.PHONY: test
test: verify lint test-unit ## Everything CI runs that needs no cluster

.PHONY: lint
lint: ## golangci-lint (pinned in hack/tools/lint, built into $(NB_TOOLS_HOME)) with .golangci.yaml
	hack/tools/lint.sh

.PHONY: vulncheck
vulncheck: ## govulncheck (pinned, with the pinned Go vulnerability database) on release builds of the plugin and the agent; fails on reachable findings
	hack/vulncheck.sh

.PHONY: test-unit
test-unit: ## Unit tests (offline, no cluster)
	hack/go-test.sh ./...

.PHONY: test-integration
test-integration: cluster-build ## Integration tests on a real kube-apiserver + etcd (light mode, starts in seconds)
	NETBASELINE_REQUIRE_TESTENV=1 hack/go-test.sh -tags integration -run Integration ./...

.PHONY: calico-selector-diff
calico-selector-diff: ## internal/calico against Calico's own selector parser (hack/calico-selector-diff) on 100,000 random selectors x 8 label sets (SEL_CASES, SEL_SEED)
	NB_CALICO_SELECTOR_DIFF=$(or $(SEL_CASES),100000) NB_CALICO_SELECTOR_DIFF_SEED=$(or $(SEL_SEED),1) \
		hack/go-test.sh -v -run TestDifferentialAgainstCalico ./internal/calico

.PHONY: mutations
mutations: cluster-build ## Break each of apply's guards in a scratch copy; the tests must catch every one (~20 min)
	hack/mutations.sh

.PHONY: test-browser
test-browser: ## explain -o html in headless Chromium (installs Debian's chromium when missing)
	hack/tools/chromium.sh
	NETBASELINE_REQUIRE_BROWSER=1 hack/go-test.sh -tags browser -run Browser ./internal/cmd

# The local cluster (hack/cluster): real Kubernetes v1.34 built from source,
# kube-router (default) or Calico (NB_ENGINE=calico) enforcing NetworkPolicy.
# Root only; binaries in $(NB_CLUSTER_HOME).
NB_CLUSTER_HOME ?= /var/cache/netbaseline-cluster
CLUSTER_ENV := /var/lib/netbaseline-cluster/env

.PHONY: cluster-build
cluster-build: ## Build the cluster's binaries and images (skips what is built; NB_ENGINE=calico adds Calico, NB_ENGINE=cilium Cilium)
	hack/cluster/build.sh

.PHONY: cluster-up
cluster-up: cluster-build ## Start the local cluster (NB_ENGINE=kube-router|calico|cilium, NB_DENY_MODE=drop|reject); prints the env to source
	hack/cluster/up.sh

.PHONY: cluster-down
cluster-down: ## Stop the local cluster (hack/cluster/down.sh --purge also forgets its state)
	hack/cluster/down.sh

.PHONY: e2e
e2e: ## End-to-end tests on the running local cluster (make cluster-up first)
	@test -f $(CLUSTER_ENV) || { echo "no cluster: run make cluster-up" >&2; exit 1; }
	. $(CLUSTER_ENV) && hack/go-test.sh -tags e2e -v -timeout 20m ./test/e2e/

.PHONY: differential
differential: ## The engine against the cluster's enforcer on 200 random cases, on Calico (Cilium) 200 more with its own policies (DIFF_CASES, DIFF_CALICO_CASES, DIFF_CILIUM_CASES, DIFF_SEED); on the running local cluster
	@test -f $(CLUSTER_ENV) || { echo "no cluster: run make cluster-up (kube-router: NB_DENY_MODE=reject for the bulk; or NB_ENGINE=calico, NB_ENGINE=cilium)" >&2; exit 1; }
	. $(CLUSTER_ENV) && NETBASELINE_DIFFERENTIAL_CASES=$(or $(DIFF_CASES),200) NETBASELINE_DIFFERENTIAL_CALICO_CASES=$(or $(DIFF_CALICO_CASES),200) \
		NETBASELINE_DIFFERENTIAL_CILIUM_CASES=$(or $(DIFF_CILIUM_CASES),200) \
		NETBASELINE_DIFFERENTIAL_SEED=$(or $(DIFF_SEED),1) \
		NETBASELINE_DIFFERENTIAL_OUT=$(CURDIR)/out/differential hack/go-test.sh -tags e2e -v -timeout 90m -run Differential ./test/e2e/

.PHONY: demo
demo: ## Build and start the local cluster with the sample app and walk the runbook with the plugin (root; leaves the cluster up)
	hack/demo.sh

.PHONY: release-check
release-check: ## goreleaser check + linux/amd64 snapshot + krew manifest validated and installed
	hack/release/check.sh

.PHONY: dist
dist: ## Every release target, the probe image tarball and dist/netbaseline.yaml
	ALL=1 hack/release/check.sh

.PHONY: verify
verify: ## gofmt, go vet, go.mod tidy, embedded tree up to date
	hack/verify.sh

.PHONY: generate
generate: ## Regenerate kustomize/ from the sample app's Config
	$(GO) run ./hack/gen-kustomize -out kustomize

.PHONY: update-golden
update-golden: ## Rewrite golden files from the current output
	$(GO) test ./... -update

.PHONY: clean
clean:
	rm -rf $(BIN) dist

.PHONY: help
help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'
