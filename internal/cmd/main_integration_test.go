//go:build integration

package cmd

import (
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/testenv"
)

// Integration tests run against a real kube-apiserver + etcd (the local
// cluster's light mode): go test -tags integration ./...
func TestMain(m *testing.M) { testenv.Main(m) }
