package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/headroom-dev/headroom/master/allocator
cpu: AMD EPYC
BenchmarkAllocate/agents=10000/frameworks=1000-2         	      30	  40000000 ns/op	 10000 offers/op	 1048576 B/op	 12 allocs/op
BenchmarkAllocate/agents=10000/frameworks=1000-2         	      30	  44000000 ns/op	 10000 offers/op	 1048576 B/op	 12 allocs/op
BenchmarkAllocate/agents=10000/frameworks=1000-2         	      30	  42000000 ns/op	 10000 offers/op	 1048576 B/op	 12 allocs/op
PASS
ok  	github.com/headroom-dev/headroom/master/allocator	12.3s
goos: linux
goarch: amd64
pkg: github.com/headroom-dev/headroom/cmd/headroom
cpu: AMD EPYC
BenchmarkSpikeToClamp-2   	       1	1072805569 ns/op	       751.5 clamp-max-ms	       163.7 clamp-p50-ms	       751.5 clamp-p99-ms	       155.0 first-cut-p50-ms	         3.000 spikes
--- BENCH: BenchmarkSpikeToClamp-2
    reaction_bench_test.go:111: spike 1: reopened in 7.013651433s
BenchmarkMonitorVsNodeExporter-2   	       1	7553696861 ns/op	         0.3333 cpu-ratio	        12.00 monitor-cpu-s/h	        32.89 monitor-rss-MiB	        35.99 node-exporter-cpu-s/h	        19.72 node-exporter-rss-MiB	         1.668 rss-ratio
BenchmarkBroken-2 this is a log line
PASS
`

func TestParse(t *testing.T) {
	rs, h, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if h.cpu != "AMD EPYC" || h.goos != "linux" {
		t.Errorf("header %+v", h)
	}
	if len(rs) != 3 {
		t.Fatalf("%d results, want 3: %+v", len(rs), rs)
	}
	a := find(rs, "BenchmarkAllocate/agents=10000/frameworks=1000")
	if a == nil || a.pkg != "github.com/headroom-dev/headroom/master/allocator" {
		t.Fatalf("allocate: %+v", a)
	}
	if m, _ := a.median("ns/op"); m != 42000000 {
		t.Errorf("median ns/op %v, want 42000000", m)
	}
	if got := strings.Join(a.units, ","); got != "ns/op,offers/op,B/op,allocs/op" {
		t.Errorf("units %s", got)
	}
	if s := find(rs, "BenchmarkSpikeToClamp"); s == nil || len(s.values["clamp-p50-ms"]) != 1 {
		t.Errorf("spike: %+v", s)
	}
}

func TestWrite(t *testing.T) {
	rs, h, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	r := report{w: &buf, opts: options{command: "make bench", note: "shared machine", cores: 64, reserve: 2},
		results: rs, header: h, machine: machine{cpu: "AMD EPYC", cores: 2}, finished: time.Now(),
		policies: []traceReport{{trace: "t.csv", policies: []policyReport{
			{Name: "default", Efficiency: 0.8, HarvestedCoreHours: 300},
			{Name: "koordinator", Efficiency: 0.3, HarvestedCoreHours: 100},
		}}}}
	r.write()
	out := buf.String()
	for _, want := range []string{
		"| command | `make bench` |",
		"| conditions | shared machine |",
		"CPU ratio **0.333**",
		"p50 **164 ms**, p99 **752 ms**",
		"10,000 agents × 1,000 frameworks: 42 ms",
		"efficiency 80 %",
		"3 × the Koordinator-style baseline",
		"|  | clamp-p50-ms | 164 | 1 |",
		"| Allocate/agents=10000/frameworks=1000 | time/op | 42 ms | 3 (40 ms – 44 ms) |",
		"| t.csv | default | 80 % |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "| SpikeToClamp | time/op") {
		t.Errorf("a whole-run benchmark shows its time/op:\n%s", out)
	}
}

func TestCount(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 9998.4: "9,998", 50000: "50,000", 1234567: "1,234,567"} {
		if got := count(v); got != want {
			t.Errorf("count(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 0.0334: "0.0334", 0.5: "0.500", 3: "3", 1.234: "1.23", 12.34: "12.3",
		123.4: "123", 12345.6: "12346", 0.00001234: "0.0000123"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
}
