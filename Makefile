# kubectl netbaseline — thin wrappers over go and hack/ scripts.
SHELL := /bin/bash
.DEFAULT_GOAL := build

MODULE  := github.com/netbaseline/kubectl-netbaseline
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell git log -1 --format=%cI 2>/dev/null)
LDFLAGS := -s -w -X $(MODULE)/pkg/version.Version=$(VERSION) -X $(MODULE)/pkg/version.Commit=$(COMMIT) -X $(MODULE)/pkg/version.Date=$(DATE)
GO      ?= go
BIN     := bin

.PHONY: build
build: ## Build bin/kubectl-netbaseline
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/kubectl-netbaseline ./cmd/kubectl-netbaseline

.PHONY: install
install: ## go install the plugin (puts kubectl-netbaseline on PATH)
	CGO_ENABLED=0 $(GO) install -trimpath -ldflags '$(LDFLAGS)' ./cmd/kubectl-netbaseline

.PHONY: test
test: verify test-unit ## Everything CI runs that needs no cluster

.PHONY: test-unit
test-unit: ## Unit tests (offline, no cluster)
	hack/go-test.sh ./...

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
