package netbaseline

import (
	"errors"
	"strings"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// A live read that was refused pods makes FlowChanges unknown, never an
// empty list of changes.
func TestFlowChangesOfAnUnreadSnapshotAreUnknown(t *testing.T) {
	m := &model.Model{}
	m.MarkUnreadable("pods", "shop")
	before := newSnapshot(m)
	_, err := FlowChanges(before, before)
	var unreadable *UnreadableError
	if !errors.As(err, &unreadable) || !strings.Contains(err.Error(), `"list" on "pods" in namespace shop`) {
		t.Fatalf("want an *UnreadableError naming the refusal, got %v", err)
	}
}
