package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// section groups benchmarks by the part of the system they measure.
type section struct {
	title, about string
	benchmarks   []string // top-level names
}

func sections() []section {
	return []section{
		{"Monitor cost", "The real `headroom monitor` process, alone and side by side with Debian's " +
			"`prometheus-node-exporter` (each at its defaults, each scraped once a second), then the " +
			"sampling and estimating hot paths in-process.",
			[]string{"BenchmarkMonitorVsNodeExporter", "BenchmarkMonitorProcessCost", "BenchmarkSampleFast",
				"BenchmarkSample", "BenchmarkParseProcStatCPU", "BenchmarkEstimatorObserve",
				"BenchmarkCPUUsage", "BenchmarkMemoryWorkingSet"}},
		{"Reaction: business spike to batch clamp", "The real `headroom agent` (standalone) on the real " +
			"cgroup hierarchy: stress-ng on every core in a business cgroup, timed from its start to the " +
			"batch cgroup's CFS quota first cut and then clamped to the CPU floor.",
			[]string{"BenchmarkSpikeToClamp"}},
		{"Master", "Allocation cycles of the DRF allocator at 10k agents × 1k frameworks and 50k × 100; " +
			"the real `headroom master` under simulated agents heartbeating every 5 s (CPU and RSS of the " +
			"master process alone); the in-process heartbeat path; app task launches per second end to end.",
			[]string{"BenchmarkAllocate", "BenchmarkAllocateSteady", "BenchmarkMasterUnderAgents",
				"BenchmarkMasterHeartbeats", "BenchmarkAppLaunchThroughput"}},
		{"Agent", "Task launch latency under a burst of 100, and the agent's memory with 500 tasks.",
			[]string{"BenchmarkLaunchLatency", "BenchmarkAgentRSS500Tasks"}},
	}
}

// wholeRun reports whether one iteration of the benchmark is a whole
// measured run (minutes of a real process): its time/op says nothing.
func wholeRun(name string) bool {
	switch topLevel(name) {
	case "BenchmarkMonitorVsNodeExporter", "BenchmarkMonitorProcessCost", "BenchmarkSpikeToClamp", "BenchmarkMasterUnderAgents":
		return true
	}
	return false
}

type report struct {
	w                 io.Writer
	opts              options
	results           []*result
	header            header
	machine           machine
	started, finished time.Time
	policies          []traceReport
}

func (r *report) printf(format string, args ...any) { fmt.Fprintf(r.w, format, args...) }

func (r *report) write() {
	r.printf("# Benchmark results\n\n")
	r.printf("Written by `go run ./bench/report` from the run's `bench/out.txt` (the benchstat input, ")
	r.printf("not committed); regenerate rather than edit. How to run the suite and read these numbers: ")
	r.printf("[docs/benchmarks.md](../docs/benchmarks.md).\n\n")
	r.printf("| | |\n|---|---|\n")
	r.printf("| command | `%s` |\n", r.opts.command)
	if len(r.opts.env) > 0 {
		r.printf("| environment | `%s` |\n", strings.Join(r.opts.env, " "))
	}
	date := r.finished.UTC().Format("2006-01-02 15:04 MST")
	if !r.started.IsZero() {
		date = fmt.Sprintf("%s to %s", r.started.UTC().Format("2006-01-02 15:04"), date)
	}
	r.printf("| date | %s |\n", date)
	if r.opts.version != "" {
		r.printf("| code | `%s` |\n", r.opts.version)
	}
	m := r.machine
	r.printf("| machine | %s, %d cores, %s memory |\n", orDash(m.cpu), m.cores, orDash(m.memory))
	r.printf("| system | %s, %s |\n", orDash(m.os), orDash(m.kernel))
	r.printf("| cgroups | %s |\n", m.cgroups)
	r.printf("| go | %s |\n", m.goVer)
	if r.opts.note != "" {
		r.printf("| conditions | %s |\n", r.opts.note)
	}
	r.printf("\n## Headlines\n\n")
	r.headlines()

	claimed := map[string]bool{}
	for _, s := range sections() {
		var rs []*result
		for _, name := range s.benchmarks {
			claimed[name] = true
			for _, res := range r.results {
				if topLevel(res.name) == name {
					rs = append(rs, res)
				}
			}
		}
		if len(rs) == 0 {
			continue
		}
		r.printf("\n## %s\n\n%s\n\n", s.title, s.about)
		r.table(rs)
	}
	switch {
	case len(r.policies) > 0:
		r.policyTable()
	case r.opts.tracesMissing != "":
		r.printf("\n## Policy: harvest and interference on real traces\n\nNot run: %s.\n", r.opts.tracesMissing)
	}
	var rest []*result
	for _, res := range r.results {
		if !claimed[topLevel(res.name)] {
			rest = append(rest, res)
		}
	}
	if len(rest) > 0 {
		r.printf("\n## Other benchmarks\n\n")
		r.table(rest)
	}
}

// headlines are the figures the issue asks for, one line each; a figure
// whose benchmark did not run is left out.
func (r *report) headlines() {
	get := func(name, unit string) (float64, bool) {
		res := find(r.results, name)
		if res == nil {
			return 0, false
		}
		return res.median(unit)
	}
	if ratio, ok := get("BenchmarkMonitorVsNodeExporter", "cpu-ratio"); ok {
		mc, _ := get("BenchmarkMonitorVsNodeExporter", "monitor-cpu-s/h")
		mr, _ := get("BenchmarkMonitorVsNodeExporter", "monitor-rss-MiB")
		nc, _ := get("BenchmarkMonitorVsNodeExporter", "node-exporter-cpu-s/h")
		nr, _ := get("BenchmarkMonitorVsNodeExporter", "node-exporter-rss-MiB")
		r.printf("- **Monitor vs node_exporter**, side by side, each scraped once a second: CPU ratio **%s** "+
			"(monitor %s CPU s/h, node_exporter %s CPU s/h); RSS %s MiB vs %s MiB.\n",
			num(ratio), num(mc), num(nc), num(mr), num(nr))
	}
	if c, ok := get("BenchmarkMonitorProcessCost", "cpu-s/h"); ok {
		rss, _ := get("BenchmarkMonitorProcessCost", "rss-MiB")
		r.printf("- **Monitor alone**: %s CPU s/h (%s %% of a core), %s MiB RSS (targets: 18 s/h, 30 MiB).\n",
			num(c), num(c/36), num(rss))
	}
	if p50, ok := get("BenchmarkSpikeToClamp", "clamp-p50-ms"); ok {
		p99, _ := get("BenchmarkSpikeToClamp", "clamp-p99-ms")
		worst, _ := get("BenchmarkSpikeToClamp", "clamp-max-ms")
		cut, _ := get("BenchmarkSpikeToClamp", "first-cut-p50-ms")
		n, _ := get("BenchmarkSpikeToClamp", "spikes")
		r.printf("- **Spike to clamp** over %s spikes: p50 **%s ms**, p99 **%s ms**, worst %s ms "+
			"(first cut of the quota: p50 %s ms).\n", num(n), num(p50), num(p99), num(worst), num(cut))
	}
	for _, size := range []struct{ name, label string }{
		{"agents=10000/frameworks=1000", "10,000 agents × 1,000 frameworks"},
		{"agents=50000/frameworks=100", "50,000 agents × 100 frameworks"},
	} {
		if ns, ok := get("BenchmarkAllocate/"+size.name, "ns/op"); ok {
			line := fmt.Sprintf("- **Allocation cycle**, %s: %s", size.label, duration(ns))
			if st, ok := get("BenchmarkAllocateSteady/"+size.name, "ns/op"); ok {
				line += fmt.Sprintf(" (steady state, everything rescinded and re-offered: %s)", duration(st))
			}
			r.printf("%s.\n", line)
		}
	}
	for _, res := range r.results {
		if topLevel(res.name) != "BenchmarkMasterUnderAgents" {
			continue
		}
		cores, _ := res.median("master-cores")
		rss, _ := res.median("master-rss-MiB")
		p50, _ := res.median("p50-ms")
		p99, _ := res.median("p99-ms")
		rate, _ := res.median("hb/s")
		target, _ := res.median("hb-target/s")
		agents, _ := strconv.ParseFloat(strings.TrimPrefix(subName(res.name), "agents="), 64)
		r.printf("- **Real master, %s simulated agents** (%s heartbeats/s of %s due): %s cores, %s MiB RSS, "+
			"heartbeat p50 %s ms, p99 %s ms.\n", count(agents), count(rate), count(target),
			num(cores), num(rss), num(p50), num(p99))
	}
	if v, ok := get("BenchmarkAppLaunchThroughput", "tasks/s"); ok {
		r.printf("- **Task launches end to end** through the master: %s tasks/s.\n", num(v))
	}
	if len(r.policies) > 0 {
		var effs, kratio []float64
		worst := 0.0
		for _, tr := range r.policies {
			d, k := policyByName(tr, "default"), policyByName(tr, "koordinator")
			if d == nil {
				continue
			}
			effs = append(effs, d.Efficiency)
			worst = math.Max(worst, d.InterferenceTimeRatio)
			if k != nil && k.HarvestedCoreHours > 0 {
				kratio = append(kratio, d.HarvestedCoreHours/k.HarvestedCoreHours)
			}
		}
		if len(effs) > 0 {
			r.printf("- **Default policy** on %d real traces (%g cores, reserve %g): efficiency %s, interference at "+
				"most %s %% of the time, %s × the Koordinator-style baseline's harvest.\n",
				len(effs), r.opts.cores, r.opts.reserve, pctRange(effs), num(100*worst), numRange(kratio))
		}
	}
}

func (r *report) table(rs []*result) {
	r.printf("| benchmark | metric | median | runs |\n|---|---|--:|---|\n")
	for _, res := range rs {
		name := strings.TrimPrefix(res.name, "Benchmark")
		for _, unit := range res.units {
			if unit == "ns/op" && wholeRun(res.name) {
				continue
			}
			vs := res.values[unit]
			med, _ := res.median(unit)
			runs := strconv.Itoa(len(vs))
			if len(vs) > 1 {
				lo, hi := vs[0], vs[0]
				for _, v := range vs {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
				runs += fmt.Sprintf(" (%s – %s)", value(lo, unit), value(hi, unit))
			}
			metric := unit
			if unit == "ns/op" {
				metric = "time/op"
			}
			r.printf("| %s | %s | %s | %s |\n", name, metric, value(med, unit), runs)
			name = ""
		}
	}
}

func (r *report) policyTable() {
	r.printf("\n## Policy: harvest and interference on real traces\n\n")
	r.printf("`headroom policy simulate --cores %g --policy default.yaml -o json` on every trace of `%s`, "+
		"where default.yaml is the default policy with `reserve.cpus: %g`. Efficiency is the share of the "+
		"truly idle CPU lent (the oracle lends all of it); interference is lending beyond what was idle. "+
		"Definitions: [docs/simulate.md](../docs/simulate.md).\n\n", r.opts.cores, r.opts.traces, r.opts.reserve)
	r.printf("| trace | policy | efficiency | interference, time | interference, core·s | changes/h | harvested core·h | × koordinator | evictions |\n")
	r.printf("|---|---|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, tr := range r.policies {
		k := policyByName(tr, "koordinator")
		name := tr.trace
		for _, p := range tr.policies {
			ratio := "–"
			if k != nil && k.HarvestedCoreHours > 0 {
				ratio = num(p.HarvestedCoreHours/k.HarvestedCoreHours) + "×"
			}
			r.printf("| %s | %s | %s %% | %s %% | %s | %s | %s | %s | %d |\n", name, p.Name, num(100*p.Efficiency),
				num(100*p.InterferenceTimeRatio), num(p.InterferenceCoreSeconds), num(p.ChangesPerHour),
				num(p.HarvestedCoreHours), ratio, p.Evictions)
			name = ""
		}
	}
}

func policyByName(tr traceReport, name string) *policyReport {
	for i := range tr.policies {
		if tr.policies[i].Name == name {
			return &tr.policies[i]
		}
	}
	return nil
}

func topLevel(name string) string {
	top, _, _ := strings.Cut(name, "/")
	return top
}

func subName(name string) string {
	_, sub, _ := strings.Cut(name, "/")
	return sub
}

// value formats v in its unit: times and sizes in readable units, counts
// with as many digits as mean something.
func value(v float64, unit string) string {
	switch unit {
	case "ns/op":
		return duration(v)
	case "B/op":
		switch {
		case v >= 1<<30:
			return num(v/(1<<30)) + " GiB"
		case v >= 1<<20:
			return num(v/(1<<20)) + " MiB"
		case v >= 1<<10:
			return num(v/(1<<10)) + " KiB"
		}
		return num(v) + " B"
	}
	return num(v)
}

func duration(ns float64) string {
	switch {
	case ns >= 1e9:
		return num(ns/1e9) + " s"
	case ns >= 1e6:
		return num(ns/1e6) + " ms"
	case ns >= 1e3:
		return num(ns/1e3) + " µs"
	}
	return num(ns) + " ns"
}

// num prints three significant digits, never in exponent form; whole
// numbers, and anything from 1000 up, without decimals.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case v == math.Trunc(v) || a >= 1000:
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', int(-math.Floor(math.Log10(a)))+2, 64)
}

// count prints a rounded count with thousands separators.
func count(v float64) string {
	s := strconv.FormatFloat(math.Round(math.Abs(v)), 'f', 0, 64)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if v < 0 {
		s = "-" + s
	}
	return s
}

func numRange(vs []float64) string {
	if len(vs) == 0 {
		return "–"
	}
	lo, hi := vs[0], vs[0]
	for _, v := range vs {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if num(lo) == num(hi) {
		return num(lo)
	}
	return num(lo) + "–" + num(hi)
}

func pctRange(vs []float64) string {
	p := make([]float64, len(vs))
	for i, v := range vs {
		p[i] = 100 * v
	}
	return numRange(p) + " %"
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
