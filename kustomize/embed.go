// Package kustomize embeds the baseline's kustomize tree for the runbook's
// sample app. `go run ./hack/gen-kustomize` regenerates it from
// config.Default(); a test fails when the two differ.
package kustomize

import "embed"

// FS holds base/, components/ and overlays/.
//
//go:embed all:base all:components all:overlays
var FS embed.FS
