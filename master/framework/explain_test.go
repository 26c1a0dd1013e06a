package framework

import (
	"testing"

	"github.com/headroom-dev/headroom/internal/resources"
)

func cpus(c float64, memMiB int64) resources.Resources {
	return resources.Resources{CPUs: c, MemBytes: memMiB << 20, Disk: 1 << 30}
}

// TestExplainTable covers the remaining texts of Explain directly.
func TestExplainTable(t *testing.T) {
	mustParse := func(raw ...[]string) []Constraint {
		cs, err := ParseConstraints(raw)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	rackA := Offer{AgentID: "a1", Hostname: "h1", Attributes: map[string]string{"rack": "a"}, Revocable: cpus(4, 4096)}
	rackA2 := Offer{AgentID: "a2", Hostname: "h2", Attributes: map[string]string{"rack": "a"}, Revocable: cpus(4, 4096)}
	cases := []struct {
		name   string
		need   Need
		cands  []Offer
		placed []Agent
		want   string
	}{
		{
			name:  "fits: the capacity went elsewhere",
			need:  Need{Resources: cpus(1, 128), Revocable: true, Instances: 1},
			cands: []Offer{rackA},
			want:  ReasonOfferedElse,
		},
		{
			name:   "MAX_PER",
			need:   Need{Resources: cpus(1, 128), Revocable: true, Instances: 3, Constraints: mustParse([]string{"rack", OpMaxPer, "2"})},
			cands:  []Offer{rackA, rackA2},
			placed: []Agent{{ID: "a1", Hostname: "h1", Attributes: map[string]string{"rack": "a"}}, {ID: "a2", Hostname: "h2", Attributes: map[string]string{"rack": "a"}}},
			want:   "constraint MAX_PER rack 2: 1 value of rack, 3 instances",
		},
		{
			name:  "LIKE",
			need:  Need{Resources: cpus(1, 128), Revocable: true, Instances: 1, Constraints: mustParse([]string{"rack", OpLike, "b.*"})},
			cands: []Offer{rackA},
			want:  "constraint rack LIKE b.*: no agent with free capacity passes it",
		},
		{
			name:  "disk",
			need:  Need{Resources: resources.Resources{CPUs: 1, MemBytes: 128 << 20, Disk: 4 << 30}, Revocable: true, Instances: 1},
			cands: []Offer{rackA},
			want:  "no offer fits: short of 3072 MiB disk (largest free 1024 MiB on agent a1)",
		},
		{
			name: "each resource somewhere, not together",
			need: Need{Resources: cpus(2, 2048), Revocable: true, Instances: 1},
			cands: []Offer{
				{AgentID: "a1", Revocable: cpus(4, 512)},
				{AgentID: "a2", Revocable: cpus(1, 4096)},
			},
			want: "no offer fits: no agent has 2 CPU and 2048 MiB memory free together",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Explain(tc.need, tc.cands, tc.placed, nil); got != tc.want {
				t.Fatalf("Explain = %q, want %q", got, tc.want)
			}
		})
	}
}
