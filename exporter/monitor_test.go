package exporter

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/headroom-dev/headroom/monitor"
	"github.com/headroom-dev/headroom/monitor/estimate"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

type fixedSource monitor.Snapshot

func (f fixedSource) Snapshot() monitor.Snapshot { return monitor.Snapshot(f) }

func sampleSnapshot() monitor.Snapshot {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return monitor.Snapshot{
		Sample: estimate.Sample{
			Time: t0, OnlineCPUs: 16, HostCPU: 6, BatchCPU: 2, SelfCPU: 0.01, BusinessCPU: 3.99,
			MemTotal: 64 << 30, MemAvailable: 40 << 30, BatchMem: 8 << 30, SelfMem: 20 << 20, BusinessMem: 16 << 30,
			PSI: estimate.PSI{Present: true,
				CPU:    estimate.Pressure{SomeAvg10: 2.5, SomeTotal: 90 * time.Second},
				Memory: estimate.Pressure{SomeAvg10: 0.5, FullAvg10: 0.25, SomeTotal: 3 * time.Second, FullTotal: time.Second},
				IO:     estimate.Pressure{SomeAvg10: 1, FullAvg10: 0.5, SomeTotal: 12 * time.Second, FullTotal: 6 * time.Second}},
			Services: []estimate.ServiceUsage{{Name: "nginx", CPU: 1.5, Mem: 1 << 30, Procs: 4}},
		},
		Estimate: estimate.Estimate{
			Time: t0, CPU: 8.5, Mem: 30 << 30, CPUReason: estimate.ReasonPredictor, MemReason: estimate.ReasonReserve,
			PredictedCPU: 5.1, PredictedMem: 18 << 30, TargetCPU: 9, TargetMem: 30 << 30,
		},
		Changes: map[estimate.Change]uint64{
			{Resource: "cpu", Direction: "up"}: 3, {Resource: "cpu", Direction: "down"}: 5,
			{Resource: "memory", Direction: "down"}: 1,
		},
		Samples:          map[string]uint64{monitor.KindFull: 100, monitor.KindFast: 500},
		Errors:           map[string]uint64{monitor.KindFast: 2},
		EvictionRequests: 1,
		Policy:           estimate.DefaultPolicy(),
		Steering:         estimate.Steering{Budget: 0.001, Multiplier: 1.98, Events: 2, Samples: 4000, Spent: 0.0005},
	}
}

func TestMonitorCollectorGolden(t *testing.T) {
	c := NewMonitorCollector(fixedSource(sampleSnapshot()))
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	golden := filepath.Join("testdata", "monitor.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./exporter -update to create it)", err)
	}
	if err := testutil.CollectAndCompare(c, bytes.NewReader(want)); err != nil {
		t.Fatalf("/metrics differs from %s (run with -update if intended): %v", golden, err)
	}
}

func TestMonitorCollectorLint(t *testing.T) {
	problems, err := testutil.CollectAndLint(NewMonitorCollector(fixedSource(sampleSnapshot())))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// Before the first full sample the collector must not export zero usage,
// which would read as an idle host.
func TestMonitorCollectorBeforeFirstSample(t *testing.T) {
	snap := sampleSnapshot()
	snap.Sample = estimate.Sample{}
	n := testutil.CollectAndCount(NewMonitorCollector(fixedSource(snap)), "headroom_usage_cpu_cores")
	if n != 0 {
		t.Fatalf("exported %d usage series before any sample", n)
	}
}

func TestCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range Catalogue() {
		if seen[m.Name] {
			t.Errorf("%s listed twice", m.Name)
		}
		seen[m.Name] = true
		if !strings.HasPrefix(m.Name, "headroom_") {
			t.Errorf("%s: missing the headroom_ prefix", m.Name)
		}
		if (m.Type == Counter) != strings.HasSuffix(m.Name, "_total") {
			t.Errorf("%s: counters and only counters end in _total", m.Name)
		}
		if m.Help == "" || m.Component == "" {
			t.Errorf("%s: help and component are required", m.Name)
		}
		for _, l := range m.Labels {
			if l == "task" || l == "task_id" {
				t.Errorf("%s: unbounded label %q", m.Name, l)
			}
		}
	}
}

func TestRegistryServesBuildInfo(t *testing.T) {
	reg := NewRegistry()
	if n, err := testutil.GatherAndCount(reg, "headroom_build_info"); err != nil || n != 1 {
		t.Fatalf("headroom_build_info: %d series, %v", n, err)
	}
}
