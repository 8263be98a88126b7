package policy

import "testing"

func TestNamespacesAggregation(t *testing.T) {
	n := NewNamespaces()
	for _, x := range []Explanation{
		{From: "a/web-1", To: "b/db-1", FromGroup: "a/deploy/web", ToGroup: "b/deploy/db", Port: 5432, Protocol: "TCP", Verdict: Allowed},
		{From: "a/job-1", To: "b/db-1", FromGroup: "a/job/job", ToGroup: "b/deploy/db", Port: 5432, Protocol: "TCP", Verdict: Denied},
		{From: "a/web-1", To: "b/db-1", FromGroup: "a/deploy/web", ToGroup: "b/deploy/db", Port: 9187, Protocol: "TCP", Verdict: Denied},
		{From: "b/db-1", To: "a/web-1", FromGroup: "b/deploy/db", ToGroup: "a/deploy/web", Port: 80, Protocol: "TCP", Verdict: Allowed},
	} {
		if err := n.Add(x); err != nil {
			t.Fatal(err)
		}
	}
	flows := n.Flows()
	if len(flows) != 3 {
		t.Fatalf("flows = %+v", flows)
	}
	ab := flows[0]
	if ab.From != "a" || ab.To != "b" || ab.Port != 5432 || ab.Allowed != 1 || ab.Denied != 1 || ab.Reach != "some" ||
		ab.Examples.Allowed != "a/deploy/web -> b/deploy/db" || ab.Examples.Denied != "a/job/job -> b/deploy/db" {
		t.Errorf("a -> b 5432: %+v", ab)
	}
	if flows[1].Port != 9187 || flows[1].Reach != "none" || flows[2].From != "b" || flows[2].Reach != "all" {
		t.Errorf("flows = %+v", flows)
	}
}
