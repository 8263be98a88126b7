package apply

import (
	"fmt"
	"sort"

	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
)

// Order is how phases follow each other.
type Order string

const (
	// AllowsFirst applies every allow in phase order and deny-all (phase
	// 00) last. While the allows land, each pod is isolated only by
	// policies that also allow its expected traffic; deny-all then changes
	// nothing that was meant to work, and an apply that stops half-way
	// leaves the app working. It is the default.
	AllowsFirst Order = "allows-first"
	// Runbook applies in phase order, deny-all first, as the runbook's
	// the runbook writes it: the namespace goes dark until the allows land.
	Runbook Order = "runbook"
)

// orders lists the valid orders, default first.
var orders = []Order{AllowsFirst, Runbook}

// ParseOrder checks an --order value.
func ParseOrder(s string) (Order, error) {
	for _, o := range orders {
		if string(o) == s {
			return o, nil
		}
	}
	return "", fmt.Errorf("unknown order %q: use %s or %s", s, AllowsFirst, Runbook)
}

// Phase is the objects of one phase, applied together.
type Phase struct {
	Number  int
	Objects []baseline.Object
}

// phases groups objects by phase in the order's sequence. Neither order
// is fail-open (docs/design.md): any policy selecting all pods for egress, such
// as allow-dns, isolates egress as much as deny-all does.
func phases(objs []baseline.Object, order Order) []Phase {
	byNumber := map[int][]baseline.Object{}
	for _, o := range objs {
		byNumber[o.Phase] = append(byNumber[o.Phase], o)
	}
	numbers := make([]int, 0, len(byNumber))
	for n := range byNumber {
		numbers = append(numbers, n)
	}
	sort.Ints(numbers)
	if order == AllowsFirst && len(numbers) > 0 && numbers[0] == baseline.PhaseDenyAll {
		numbers = append(numbers[1:], baseline.PhaseDenyAll)
	}
	phases := make([]Phase, 0, len(numbers))
	for _, n := range numbers {
		phases = append(phases, Phase{Number: n, Objects: byNumber[n]})
	}
	return phases
}
