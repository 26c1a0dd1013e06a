package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/agent/executor"
	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/resources"
)

// startBenchAgent is startAgent for a testing.TB: a real agent under a
// unique parent cgroup, its API on an httptest server, all removed at
// cleanup. The executor keeps its production disk-check interval, so the
// periodic sandbox walk of hundreds of tasks does not skew the figures.
// The batch cgroup gets a fixed reservation of every core and 16 GiB (or
// the host's memory, if less) at once, as on an idle host whose harvest
// has opened: the numbers are the agent's, not the monitor's grow delay.
func startBenchAgent(tb testing.TB) *testAgent {
	tb.Helper()
	ta := startAgent(tb, func(cfg *Config) {
		// Silent: go test prints a benchmark's name before running it, so
		// log lines on stderr would split its result line and benchstat
		// would lose it.
		cfg.Logger = slog.New(slog.DiscardHandler)
		cfg.Hostname = "bench-host"
		cfg.Executor.DiskInterval = executor.DefaultDiskInterval
	})
	if err := ta.SetOverride(&Override{Mode: OverrideFixed, CPUs: float64(runtime.NumCPU()), MemBytes: min(16<<30, int64(ta.cfg.HostMemBytes))}); err != nil {
		tb.Fatal(err)
	}
	return ta
}

// benchClient keeps enough idle connections for a burst of launches.
func benchClient(n int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = n, n
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// launchHTTP posts one task; it returns when the request was sent and
// the agent's answer.
func launchHTTP(c *http.Client, base string, info api.TaskInfo) (sent time.Time, err error) {
	body, err := json.Marshal(info)
	if err != nil {
		return time.Time{}, err
	}
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/tasks", bytes.NewReader(body))
	if err != nil {
		return time.Time{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	sent = time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return sent, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return sent, fmt.Errorf("launch %s: %d %s", info.ID, resp.StatusCode, b)
	}
	return sent, nil
}

// launchMany launches the tasks through the API with at most par requests
// in flight and returns when each request was sent, by id.
func launchMany(tb testing.TB, ta *testAgent, tasks []api.TaskInfo, par int) map[string]time.Time {
	tb.Helper()
	c := benchClient(par)
	defer c.CloseIdleConnections()
	var (
		mu   sync.Mutex
		sent = make(map[string]time.Time, len(tasks))
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, par)
	)
	for _, info := range tasks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			at, err := launchHTTP(c, ta.srv.URL, info)
			mu.Lock()
			defer mu.Unlock()
			sent[info.ID] = at
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		tb.Fatalf("%d of %d launches failed, first: %v", len(errs), len(tasks), errs[0])
	}
	return sent
}

// waitRunning polls the executor until every task has gone running and
// returns when each did (the TASK_RUNNING status timestamp). A task that
// ends before running fails the benchmark.
func waitRunning(tb testing.TB, ta *testAgent, ids []string, timeout time.Duration) map[string]time.Time {
	tb.Helper()
	started := make(map[string]time.Time, len(ids))
	pending := slices.Clone(ids)
	deadline := time.Now().Add(timeout)
	for len(pending) > 0 {
		next := pending[:0]
		for _, id := range pending {
			v, ok := ta.exec.Task(id)
			switch {
			case !ok:
				tb.Fatalf("task %s unknown to the executor", id)
			case !v.Started.IsZero():
				started[id] = v.Started
			case v.Status.State.IsTerminal():
				tb.Fatalf("task %s ended before running: %s (%s: %s)", id, v.Status.State, v.Status.Reason, v.Status.Message)
			default:
				next = append(next, id)
			}
		}
		pending = next
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d tasks not running after %v", len(pending), len(ids), timeout)
		}
		time.Sleep(time.Millisecond)
	}
	return started
}

// killAndForget kills the tasks in parallel and forgets them, so that the
// next iteration starts from an empty executor.
func killAndForget(tb testing.TB, ta *testAgent, ids []string) {
	tb.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	sem := make(chan struct{}, 64)
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := ta.exec.Kill(id, api.TaskKilled, api.ReasonKilledByRequest, "benchmark done")
			if err == nil {
				err = ta.exec.Forget(id)
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		tb.Fatalf("%d kills failed, first: %v", len(errs), errs[0])
	}
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func sleepTasks(prefix string, n int, cpus float64, mem int64) ([]api.TaskInfo, []string) {
	tasks := make([]api.TaskInfo, n)
	ids := make([]string, n)
	for j := range n {
		ids[j] = fmt.Sprintf("%s-%d", prefix, j)
		tasks[j] = api.TaskInfo{ID: ids[j], Cmd: "sleep 600", Revocable: true, KillGracePeriodSeconds: 1,
			Resources: resources.Resources{CPUs: cpus, MemBytes: mem}}
	}
	return tasks, ids
}

// BenchmarkLaunchLatency launches 100 tasks at once through the HTTP API
// (one iteration = one burst) and reports the time from a request being
// sent to the executor's TASK_RUNNING of that task: sandbox, checkpoints,
// cgroup, process start, all under contention from the 99 others.
func BenchmarkLaunchLatency(b *testing.B) {
	const burst = 100
	ta := startBenchAgent(b)
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tasks, ids := sleepTasks(fmt.Sprintf("lat-%d", i), burst, 0.01, 16<<20)
		sent := launchMany(b, ta, tasks, burst)
		started := waitRunning(b, ta, ids, 60*time.Second)
		for _, id := range ids {
			lat = append(lat, started[id].Sub(sent[id]))
		}
		b.StopTimer()
		killAndForget(b, ta, ids)
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 99)), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
}

// BenchmarkAgentRSS500Tasks runs 500 tasks on one agent and reports the
// memory of the process hosting it. The agent runs in the benchmark
// binary, so rss-MiB includes the test binary itself; rss-delta-MiB is
// the growth over the same process before the 500 launches, and heap-MiB
// the Go heap in use after a GC.
func BenchmarkAgentRSS500Tasks(b *testing.B) {
	const n = 500
	ta := startBenchAgent(b)
	runtime.GC()
	base := vmRSS(b)
	var rss, heap float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tasks, ids := sleepTasks(fmt.Sprintf("rss-%d", i), n, 0.001, 8<<20)
		launchMany(b, ta, tasks, 32)
		waitRunning(b, ta, ids, 120*time.Second)
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		rss, heap = vmRSS(b), float64(ms.HeapInuse)/(1<<20)
		if live := len(ta.State().Tasks); live != n {
			b.Fatalf("the agent reports %d tasks, want %d", live, n)
		}
		b.StopTimer()
		killAndForget(b, ta, ids)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(rss, "rss-MiB")
	b.ReportMetric(rss-base, "rss-delta-MiB")
	b.ReportMetric(heap, "heap-MiB")
}

// vmRSS is this process's resident set size in MiB.
func vmRSS(tb testing.TB) float64 {
	tb.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fields := strings.Fields(rest)
			kb, err := strconv.ParseFloat(fields[0], 64)
			if err != nil || len(fields) < 2 || fields[1] != "kB" {
				tb.Fatalf("VmRSS line %q", sc.Text())
			}
			return kb / 1024
		}
	}
	tb.Fatal("no VmRSS in /proc/self/status")
	return 0
}
