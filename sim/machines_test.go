package sim

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/headroom-dev/headroom/monitor/estimate"
)

// acceptanceBudget is the interference the default policy may cause: 0.1 %
// of the time (issue 12).
const acceptanceBudget = DefaultInterferenceBudget

// acceptanceSizes are the host sizes of the acceptance table, the largest
// last: the small hosts are judged against it.
func acceptanceSizes() []float64 { return []float64{2, 4, 8, 64} }

// acceptanceHost is a host of cores with 4 GiB per core (256 GiB at 64,
// the size the fleet targets are stated for).
func acceptanceHost(cores float64) Host { return Host{Cores: cores, MemBytes: uint64(cores) * 4 << 30} }

// acceptanceRow is one trace replayed at one host size.
type acceptanceRow struct {
	trace       string
	cores       float64
	reserve     float64
	policy      Report
	frontier    Report
	koordinator Report
}

// sharedTraceFiles lists every CSV in the shared traces and in their
// machines folder. Under CI a missing folder, or one without traces, is a
// failure; otherwise the test is skipped with the reason.
//
// HEADROOM_ACCEPTANCE_TRACES (folders separated by the OS path list
// separator, ':' on Linux) replaces them: the same figures on traces of
// one's own fleet, or on real hosts the policy was not developed on.
func sharedTraceFiles(t *testing.T) []string {
	t.Helper()
	dirs, required := []string{sharedTraces, filepath.Join(sharedTraces, "machines")}, os.Getenv("CI") != ""
	if extra := os.Getenv("HEADROOM_ACCEPTANCE_TRACES"); extra != "" {
		dirs, required = filepath.SplitList(extra), true
	}
	var files []string
	for _, dir := range dirs {
		found, err := filepath.Glob(filepath.Join(dir, "*.csv"))
		if err == nil && len(found) == 0 {
			err = fmt.Errorf("no *.csv in %s", dir)
		}
		if err != nil {
			if required {
				t.Fatalf("acceptance traces missing: %v", err)
			}
			t.Skipf("shared traces not found (%v); set CI to make this fatal", err)
		}
		files = append(files, found...)
	}
	return files
}

// traceName is how a trace is named in the table: its path under the
// shared traces, or under the folder it was listed from.
func traceName(file string) string {
	if rel, err := filepath.Rel(sharedTraces, file); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return filepath.Join(filepath.Base(filepath.Dir(file)), filepath.Base(file))
}

// TestAcceptanceTable replays the default policy on every shared trace,
// fleet averages and single machines, at 2, 4, 8 and 64 cores, and holds it
// to issue 12's acceptance figures (see acceptanceMisses). It prints the
// table: go test ./sim -run AcceptanceTable -v. Traces run in parallel
// subtests, as many at once as -parallel (GOMAXPROCS) allows.
//
// Issue 12's figures are not all met yet (docs/simulate.md lists the rows
// that miss and why), so the table is its own target, `make acceptance`,
// rather than part of `make test`: it runs when HEADROOM_ACCEPTANCE is set.
func TestAcceptanceTable(t *testing.T) {
	if os.Getenv("HEADROOM_ACCEPTANCE") == "" {
		t.Skip("issue 12's acceptance table runs with make acceptance (HEADROOM_ACCEPTANCE=1); docs/simulate.md has the rows it still misses")
	}
	files := sharedTraceFiles(t)
	var (
		mu     sync.Mutex
		rows   []acceptanceRow
		missed = map[string]bool{}
	)
	t.Run("traces", func(t *testing.T) {
		for _, file := range files {
			name := traceName(file)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				got := acceptanceRows(t, file, name)
				misses := acceptanceMisses(got)
				for _, m := range misses {
					t.Error(m)
				}
				mu.Lock()
				rows = append(rows, got...)
				missed[name] = len(misses) > 0
				mu.Unlock()
			})
		}
	})
	slices.SortFunc(rows, func(a, b acceptanceRow) int {
		if c := strings.Compare(a.trace, b.trace); c != 0 {
			return c
		}
		return int(a.cores - b.cores)
	})
	t.Log("\n" + acceptanceTable(rows))
	t.Log(acceptanceCounts(missed))
}

// acceptanceCounts says how many traces meet every figure, in all and, when
// they come from more than one folder, per folder: sources differ (a
// one-day 5-minute series allows no miss at all), and a change is read by
// what it does to each.
func acceptanceCounts(missed map[string]bool) string {
	type count struct{ passed, all int }
	total, byDir := count{}, map[string]*count{}
	for name, m := range missed {
		dir := filepath.Dir(name)
		if byDir[dir] == nil {
			byDir[dir] = &count{}
		}
		for _, c := range []*count{&total, byDir[dir]} {
			c.all++
			if !m {
				c.passed++
			}
		}
	}
	out := fmt.Sprintf("%d of %d traces meet every figure", total.passed, total.all)
	if len(byDir) > 1 {
		dirs := slices.Sorted(maps.Keys(byDir))
		for _, d := range dirs {
			out += fmt.Sprintf("\n  %s: %d of %d", d, byDir[d].passed, byDir[d].all)
		}
	}
	return out
}

// acceptanceRows replays one trace at every acceptance size: at 64 cores
// with a 2-core reserve (the figure the fleet targets use), below it with
// the reserve the policy's own rule gives that host (PolicyFor).
func acceptanceRows(t *testing.T, file, name string) []acceptanceRow {
	t.Helper()
	var rows []acceptanceRow
	for _, cores := range acceptanceSizes() {
		host := acceptanceHost(cores)
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := ReadTrace(f, "auto", host)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		p := PolicyFor(estimate.DefaultPolicy(), host)
		if cores == 64 {
			p.Reserve.CPUs = targetReserveCPUs
		}
		row := acceptanceRow{trace: name, cores: cores, reserve: p.Reserve.CPUs}
		if row.policy, err = Simulate(tr, p, Config{}); err != nil {
			t.Fatal(err)
		}
		if row.frontier, err = Frontier(tr, p, Config{InterferenceBudget: acceptanceBudget}); err != nil {
			t.Fatal(err)
		}
		if row.koordinator, err = Koordinator(tr, p, Config{}); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	return rows
}

// acceptanceMisses holds the default policy to issue 12's acceptance figures
// on one trace and says each one it misses (rows: every acceptance size, 64 cores last):
//
//   - at every size, interference at most 0.1 % of the time;
//   - at 64 cores (reserve 2), efficiency at least 0.9 × the frontier's,
//     and at least the Koordinator baseline's wherever that baseline keeps
//     within the budget;
//   - at 2, 4 and 8 cores, efficiency at least 0.7 × the 64-core
//     efficiency on the same trace.
func acceptanceMisses(rows []acceptanceRow) []string {
	var misses []string
	miss := func(format string, args ...any) { misses = append(misses, fmt.Sprintf(format, args...)) }
	big := rows[len(rows)-1]
	for _, r := range rows {
		eff := r.policy.Efficiency
		if r.policy.InterferenceTimeRatio > acceptanceBudget {
			miss("%s at %g cores: interference %.3f%% of the time, want ≤ %.1f%%",
				r.trace, r.cores, 100*r.policy.InterferenceTimeRatio, 100*acceptanceBudget)
		}
		if r.cores != big.cores {
			if eff < 0.7*big.policy.Efficiency {
				miss("%s at %g cores: efficiency %.2f%%, want ≥ 0.7 × the %g-core %.2f%% = %.2f%%",
					r.trace, r.cores, 100*eff, big.cores, 100*big.policy.Efficiency, 70*big.policy.Efficiency)
			}
			continue
		}
		if eff < 0.9*r.frontier.Efficiency {
			miss("%s at %g cores: efficiency %.2f%%, want ≥ 0.9 × the frontier's %.2f%% = %.2f%%",
				r.trace, r.cores, 100*eff, 100*r.frontier.Efficiency, 90*r.frontier.Efficiency)
		}
		if k := r.koordinator; k.InterferenceTimeRatio <= acceptanceBudget && eff < k.Efficiency {
			miss("%s at %g cores: efficiency %.2f%%, want ≥ koordinator's %.2f%% (which keeps to %.3f%% interference)",
				r.trace, r.cores, 100*eff, 100*k.Efficiency, 100*k.InterferenceTimeRatio)
		}
	}
	return misses
}

// acceptanceTable formats the rows as a Markdown table, as docs/simulate.md
// quotes it.
func acceptanceTable(rows []acceptanceRow) string {
	var b strings.Builder
	b.WriteString("| trace | cores | reserve | efficiency | interference | frontier | ratio | koordinator | koordinator interference |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		ratio := "-"
		if r.frontier.Efficiency > 0 {
			ratio = fmt.Sprintf("%.2f", r.policy.Efficiency/r.frontier.Efficiency)
		}
		fmt.Fprintf(&b, "| %s | %g | %g | %.1f %% | %.3f %% | %.1f %% | %s | %.1f %% | %.3f %% |\n",
			r.trace, r.cores, r.reserve, 100*r.policy.Efficiency, 100*r.policy.InterferenceTimeRatio,
			100*r.frontier.Efficiency, ratio, 100*r.koordinator.Efficiency, 100*r.koordinator.InterferenceTimeRatio)
	}
	return b.String()
}

func TestAcceptanceCounts(t *testing.T) {
	got := acceptanceCounts(map[string]bool{
		"a/x.csv": false, "a/y.csv": true, "b/z.csv": false,
	})
	want := "2 of 3 traces meet every figure\n  a: 1 of 2\n  b: 1 of 1"
	if got != want {
		t.Errorf("counts:\n%s\nwant:\n%s", got, want)
	}
	if got, want := acceptanceCounts(map[string]bool{"x.csv": true}), "0 of 1 traces meet every figure"; got != want {
		t.Errorf("one folder: %q, want %q", got, want)
	}
}
