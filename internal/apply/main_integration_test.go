//go:build integration

package apply

import (
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/testenv"
)

// One light-mode API server for the package's integration tests.
func TestMain(m *testing.M) { testenv.Main(m) }
