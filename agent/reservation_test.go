package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/monitor/estimate"
)

func TestReserve(t *testing.T) {
	est := estimate.Estimate{Time: time.Unix(1, 0), CPU: 6, Mem: 8 << 30}
	tests := []struct {
		name  string
		est   estimate.Estimate
		ov    *Override
		held  uint64
		floor float64
		want  Applied
	}{
		{"estimate as is", est, nil, 1 << 30, 0.1, Applied{CPUs: 6, MemBytes: 8 << 30, CPUQuota: 6, MemLimit: 9 << 30, EvictAbove: 8 << 30}},
		{"cpu floor", estimate.Estimate{Time: time.Unix(1, 0), CPU: 0, Mem: 1 << 30}, nil, 0, 0.1, Applied{CPUs: 0, MemBytes: 1 << 30, CPUQuota: 0.1, MemLimit: 1 << 30, EvictAbove: 1 << 30}},
		{"limit is harvest plus held", estimate.Estimate{Time: time.Unix(1, 0), CPU: 1, Mem: 1 << 30}, nil, 3 << 30, 0.1, Applied{CPUs: 1, MemBytes: 1 << 30, CPUQuota: 1, MemLimit: 4 << 30, EvictAbove: 1 << 30}},
		{"cap both", est, &Override{Mode: OverrideCap, CPUs: 2, MemBytes: 1 << 30}, 0, 0.1, Applied{CPUs: 2, MemBytes: 1 << 30, CPUQuota: 2, MemLimit: 1 << 30, EvictAbove: 1 << 30}},
		{"cap above estimate keeps estimate", est, &Override{Mode: OverrideCap, CPUs: 10}, 0, 0.1, Applied{CPUs: 6, MemBytes: 8 << 30, CPUQuota: 6, MemLimit: 8 << 30, EvictAbove: 8 << 30}},
		{"cap cpu only", est, &Override{Mode: OverrideCap, CPUs: 3}, 0, 0.1, Applied{CPUs: 3, MemBytes: 8 << 30, CPUQuota: 3, MemLimit: 8 << 30, EvictAbove: 8 << 30}},
		{"fixed", est, &Override{Mode: OverrideFixed, CPUs: 10, MemBytes: 2 << 30}, 0, 0.1, Applied{CPUs: 10, MemBytes: 2 << 30, CPUQuota: 10, MemLimit: 2 << 30, EvictAbove: 2 << 30}},
		{"fixed zero keeps the floors", est, &Override{Mode: OverrideFixed}, 0, 0.1, Applied{CPUs: 0, MemBytes: 0, CPUQuota: 0.1, MemLimit: MemoryFloor}},
	}
	tests = append(tests,
		// Still growing after a restart: the target, not the estimate,
		// bounds what batch may keep.
		struct {
			name  string
			est   estimate.Estimate
			ov    *Override
			held  uint64
			floor float64
			want  Applied
		}{"growing estimate evicts above the target", estimate.Estimate{Time: time.Unix(1, 0), Mem: 0, TargetMem: 4 << 30}, nil, 2 << 30, 0.1,
			Applied{CPUQuota: 0.1, MemLimit: 2<<30 + MemoryFloor, EvictAbove: 4 << 30}},
		struct {
			name  string
			est   estimate.Estimate
			ov    *Override
			held  uint64
			floor float64
			want  Applied
		}{"degraded evicts nothing", estimate.Estimate{Degraded: true}, nil, 2 << 30, 0.1,
			Applied{CPUQuota: 0.1, MemLimit: 2<<30 + MemoryFloor, EvictAbove: 2 << 30}},
	)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Reserve(tc.est, tc.ov, tc.held, tc.floor); got != tc.want {
				t.Fatalf("Reserve = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestOverrideValidate(t *testing.T) {
	tests := []struct {
		ov   Override
		want string
	}{
		{Override{Mode: "max", CPUs: 1}, "mode"},
		{Override{Mode: OverrideCap, CPUs: -1}, "cpus"},
		{Override{Mode: OverrideCap, CPUs: 1e9}, "cpus"},
		{Override{Mode: OverrideFixed, MemBytes: -5}, "mem_bytes"},
		{Override{Mode: OverrideCap}, "at least one"},
		{Override{Mode: OverrideCap, CPUs: 2}, ""},
		{Override{Mode: OverrideFixed}, ""},
	}
	for _, tc := range tests {
		err := tc.ov.Validate()
		if tc.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", tc.ov, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want it to name %q", tc.ov, err, tc.want)
		}
	}
}

func TestPickVictims(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tasks := []Candidate{
		{ID: "old-low", Revocable: true, Priority: 0, Started: t0, MemBytes: 1 << 30},
		{ID: "young-low", Revocable: true, Priority: 0, Started: t0.Add(time.Hour), MemBytes: 1 << 30},
		{ID: "young-high", Revocable: true, Priority: 5, Started: t0.Add(2 * time.Hour), MemBytes: 4 << 30},
		{ID: "dedicated", Revocable: false, Priority: -1, Started: t0.Add(3 * time.Hour), MemBytes: 8 << 30},
	}
	ids := func(cs []Candidate) string {
		var s []string
		for _, c := range cs {
			s = append(s, c.ID)
		}
		return strings.Join(s, ",")
	}
	tests := []struct {
		need uint64
		want string
	}{
		{0, ""},
		{1, "young-low"},
		{1 << 30, "young-low"},
		{1<<30 + 1, "young-low,old-low"},
		{3 << 30, "young-low,old-low,young-high"},
		{100 << 30, "young-low,old-low,young-high"},
	}
	for _, tc := range tests {
		if got := ids(PickVictims(tasks, tc.need)); got != tc.want {
			t.Errorf("need %d: victims %q, want %q", tc.need, got, tc.want)
		}
	}
}
