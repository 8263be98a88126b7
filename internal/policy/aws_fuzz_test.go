package policy

import "testing"

// FuzzEngineAgreesWithNaiveReferenceOnEKS drives the independent
// reference's random clusters (the EKS agent's ClusterNetworkPolicies,
// NetworkPolicies, the four modes) from fuzzed seeds beyond the property
// test's 2,000: every flow must get the reference's verdict.
//
//	go test ./internal/policy -run '^$' -fuzz FuzzEngineAgreesWithNaiveReferenceOnEKS -fuzztime 5m
func FuzzEngineAgreesWithNaiveReferenceOnEKS(f *testing.F) {
	for _, seed := range []uint64{1, 41, 140, 508, 640, 1015, 1 << 40} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		c := refEKSCaseFor(seed)
		e := New(c.engineModel())
		w := newRefEKSWorld(c.m, c.cnps, c.mode)
		eachRefEKSFlow(c.m, func(fl Flow) {
			if got, want := e.Evaluate(fl, false).Verdict, w.verdict(fl); got != want {
				t.Fatalf("seed %d: engine %s, reference %s\n%s", seed, got, want, describeRefEKSCase(shrinkRefEKSCase(c, fl), fl))
			}
		})
	})
}
