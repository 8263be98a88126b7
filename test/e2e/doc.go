// Package e2e holds the end-to-end tests on the local cluster (build tag
// e2e): make cluster-up, then make e2e.
package e2e
