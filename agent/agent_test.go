package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"

	"github.com/headroom-dev/headroom/agent/executor"
	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/cgroup"
	"github.com/headroom-dev/headroom/internal/httpserver"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/internal/testutil"
	"github.com/headroom-dev/headroom/monitor"
	"github.com/headroom-dev/headroom/monitor/estimate"
)

var agentSeq atomic.Int64

// testAgent is an agent on the real cgroup hierarchy under a unique parent,
// its API on an httptest server. Everything is removed at cleanup.
type testAgent struct {
	*Agent
	h      *cgroup.Hierarchy
	parent string
	srv    *httptest.Server
}

// fastPolicy grows quickly so a test does not wait a minute for capacity.
func fastPolicy() estimate.Policy {
	p := estimate.DefaultPolicy()
	p.Grow.GrowAfter = model.Duration(time.Second)
	p.Grow.MaxStep = estimate.ResourceAmount{CPUs: 8, Memory: 64 << 30}
	p.Predictor.Window = model.Duration(2 * time.Second)
	p.Predictor.CPUPercentile = 50
	p.Predictor.MemoryPercentile = 50
	p.Predictor.HalfLife = model.Duration(5 * time.Second)
	// Other test binaries may load the machine: their CPU pressure is not
	// what these tests are about.
	p.Pressure.CPUSomeAvg10 = 0
	return p
}

func startAgent(t testing.TB, edit func(*Config)) *testAgent {
	t.Helper()
	testutil.NeedRoot(t)
	h, err := cgroup.Open(cgroup.Config{})
	testutil.Need(t, err == nil, fmt.Sprintf("a cgroup hierarchy: %v", err))
	parent := fmt.Sprintf("headroom-test-agent-%d-%d", os.Getpid(), agentSeq.Add(1))
	work := t.TempDir()
	cfg := Config{
		Hostname: "test-host", Hierarchy: h, BatchCgroup: parent + "/batch",
		Monitor:  monitor.Config{Policy: fastPolicy()},
		Executor: executor.Config{WorkDir: work, User: "-", AllowRootTasks: true, DiskInterval: 200 * time.Millisecond, DefaultGrace: time.Second},
	}
	if edit != nil {
		edit(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	// The whole server behind the production limits, as Serve runs it.
	srv := httptest.NewServer(httpserver.Guard(a.Routes(promhttp.HandlerFor(prometheus.NewRegistry(), promhttp.HandlerOpts{})), httpserver.Limits{}))
	t.Cleanup(func() {
		srv.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent run: %v", err)
		}
		_ = a.exec.KillAll(context.Background())
		if g, err := h.Load(parent); err == nil {
			_ = g.Kill()
			_ = g.Delete()
		}
	})
	return &testAgent{Agent: a, h: h, parent: parent, srv: srv}
}

func (ta *testAgent) do(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, ta.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	return resp.StatusCode, out.Bytes()
}

// cfsQuota reads the batch cgroup's CFS quota back from the kernel, in
// cores (-1 when unlimited).
func (ta *testAgent) cfsQuota(t *testing.T) float64 {
	t.Helper()
	root := ta.h.Root()
	if ta.h.Mode() == cgroup.ModeV2 {
		b, err := os.ReadFile(filepath.Join(root, ta.cfg.BatchCgroup, "cpu.max"))
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(b))
		if f[0] == "max" {
			return -1
		}
		q, _ := strconv.ParseFloat(f[0], 64)
		p, _ := strconv.ParseFloat(f[1], 64)
		return q / p
	}
	read := func(name string) float64 {
		b, err := os.ReadFile(filepath.Join(root, "cpu", ta.cfg.BatchCgroup, name))
		if err != nil {
			t.Fatal(err)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	q := read("cpu.cfs_quota_us")
	if q < 0 {
		return -1
	}
	return q / read("cpu.cfs_period_us")
}

func waitTask(t *testing.T, a *Agent, id string, timeout time.Duration, ok func(api.TaskStatus) bool, what string) api.TaskStatus {
	t.Helper()
	var last api.TaskStatus
	testutil.Eventually(t, timeout, 50*time.Millisecond, func() bool {
		v, found := a.exec.Task(id)
		last = v.Status
		return found && ok(v.Status)
	}, fmt.Sprintf("task %s %s", id, what))
	return last
}

func isState(s api.TaskState) func(api.TaskStatus) bool {
	return func(st api.TaskStatus) bool { return st.State == s }
}

// PUT /api/v1/reservation changes the batch cgroup's quota at once, no
// restart; DELETE returns to the estimate.
func TestReservationOverrideAppliesAtOnce(t *testing.T) {
	ta := startAgent(t, nil)
	code, body := ta.do(t, http.MethodPut, "/api/v1/reservation", map[string]any{"mode": "fixed", "cpus": 0.5, "mem_bytes": 1 << 30})
	if code != http.StatusOK {
		t.Fatalf("PUT reservation: %d %s", code, body)
	}
	if q := ta.cfsQuota(t); q < 0.49 || q > 0.51 {
		t.Fatalf("CFS quota right after the PUT: %v cores, want 0.5", q)
	}
	st := ta.State()
	if st.Override == nil || st.Applied.CPUQuota != 0.5 || st.Applied.MemBytes != 1<<30 {
		t.Fatalf("state after PUT: %+v", st)
	}
	code, body = ta.do(t, http.MethodPut, "/api/v1/reservation", map[string]any{"mode": "fixed", "cpus": 2})
	if code != http.StatusOK || ta.cfsQuota(t) < 1.99 {
		t.Fatalf("second PUT: %d %s, quota %v", code, body, ta.cfsQuota(t))
	}
	if code, body = ta.do(t, http.MethodDelete, "/api/v1/reservation", nil); code != http.StatusOK {
		t.Fatalf("DELETE reservation: %d %s", code, body)
	}
	if st := ta.State(); st.Override != nil {
		t.Fatalf("override still set: %+v", st.Override)
	}
	for _, bad := range []string{
		`{"mode":"sometimes","cpus":1}`, `{"mode":"fixed","cpus":-1}`, `{"mode":"fixed","mem_bytes":-5}`,
		`{"mode":"cap"}`, `{"mode":"fixed","cpus":1,"extra":true}`, `{"mode":`, `{"mode":"fixed","cpus":"two"}`,
	} {
		before := ta.State()
		if code, body := ta.do(t, http.MethodPut, "/api/v1/reservation", bad); code/100 != 4 || !strings.Contains(string(body), `"message"`) {
			t.Errorf("PUT %s: %d %s, want a 4xx with a message", bad, code, body)
		}
		if after := ta.State(); after.Applied != before.Applied || (after.Override == nil) != (before.Override == nil) {
			t.Errorf("PUT %s changed the state", bad)
		}
	}
}

// A business spike clamps the batch cgroup's CFS quota within the fast tick
// bound, and a CPU-bound batch task is then throttled.
func TestBusinessSpikeClampsAndThrottlesBatch(t *testing.T) {
	stress := testutil.NeedCommand(t, "stress-ng", "stress-ng")
	// The business is the test's own spike: other work on the machine
	// must neither keep the harvest shut nor stand in for the spike.
	ta := startAgent(t, isolate(t))
	// Two spinners: more than the harvest of a two-core host, so the CFS
	// quota throttles the batch cgroup even before the spike clamps it.
	task := api.TaskInfo{ID: "spin", Cmd: "while :; do :; done & while :; do :; done", Revocable: true,
		Resources: resources.Resources{CPUs: 1, MemBytes: 64 << 20}}
	if code, body := ta.do(t, http.MethodPost, "/api/v1/tasks", task); code != http.StatusAccepted {
		t.Fatalf("launch: %d %s", code, body)
	}
	waitTask(t, ta.Agent, "spin", 30*time.Second, isState(api.TaskRunning), "running")
	testutil.Eventually(t, 90*time.Second, 100*time.Millisecond, func() bool {
		return ta.State().Applied.CPUQuota >= 0.5
	}, "the batch quota to open to 0.5 cores")
	// Two spinners want two cores, more than the quota: the kernel holds
	// the batch cgroup to it, by throttling when the spinners can run that
	// much, or else other work on the machine outweighs them first (batch
	// has the lowest CPU weight).
	first, err := ta.BatchStats()
	if err != nil {
		t.Fatal(err)
	}
	q0, start := ta.cfsQuota(t), time.Now()
	time.Sleep(3 * time.Second)
	second, err := ta.BatchStats()
	if err != nil {
		t.Fatal(err)
	}
	quota := max(q0, ta.cfsQuota(t))
	rate := (second.CPUUsage - first.CPUUsage).Seconds() / time.Since(start).Seconds()
	throttled := second.CPUThrottledPeriods - first.CPUThrottledPeriods
	if rate > quota*1.1+0.05 {
		t.Errorf("batch used %.2f cores under a %.2f-core quota", rate, quota)
	}
	if rate >= 0.8*quota && throttled <= 3 {
		t.Errorf("batch used %.2f cores of a %.2f-core quota with %d throttled periods: the quota is not what holds it", rate, quota, throttled)
	}
	t.Logf("batch at %.2f cores under a %.2f-core quota, %d periods throttled", rate, quota, throttled)

	// CPU weights are hierarchical: the test's parent needs it too.
	parent, err := ta.h.Load(ta.parent)
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Update(cgroup.Resources{CPUShares: 262144}); err != nil {
		t.Fatal(err)
	}
	business, err := ta.h.Create(ta.parent+"/business", cgroup.Resources{CPUShares: 262144})
	if err != nil {
		t.Fatal(err)
	}
	cores := ta.Monitor().Snapshot().Sample.OnlineCPUs
	burn := exec.Command(stress, "--cpu", strconv.Itoa(int(cores)), "--timeout", "60s")
	burn.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cgroup.StartInGroup(burn, business); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-burn.Process.Pid, syscall.SIGKILL)
		_ = burn.Wait()
	})
	// The reaction is counted from the spike, not from the exec: on a busy
	// machine stress-ng may take a while to fork its workers.
	testutil.Eventually(t, 20*time.Second, time.Millisecond, func() bool {
		u, err := business.CPUUsage()
		return err == nil && u > 20*time.Millisecond
	}, "the business spike to begin")
	fastBefore := ta.Monitor().Snapshot().Samples[monitor.KindFast]
	floor := ta.cfg.CPUFloor
	testutil.Eventually(t, 20*time.Second, 10*time.Millisecond, func() bool {
		return ta.State().Applied.CPUQuota <= floor+1e-9
	}, "the batch quota to fall to the floor under the business spike")
	fastAfter := ta.Monitor().Snapshot().Samples[monitor.KindFast]
	// One fast sample may straddle the burner's start; the next sees it.
	if ticks := fastAfter - fastBefore; ticks > 3 {
		t.Errorf("the quota fell %d fast samples after the spike began, want within 3", ticks)
	}
	if q := ta.cfsQuota(t); q > floor+0.01 {
		t.Errorf("kernel CFS quota %v cores, want the floor %v", q, floor)
	}
	// Clamped, the batch gets at most the floor (and less, since the
	// business outweighs it in CPU shares).
	u0, err := ta.BatchStats()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	u1, err := ta.BatchStats()
	if err != nil {
		t.Fatal(err)
	}
	if rate := (u1.CPUUsage - u0.CPUUsage).Seconds() / 2; rate > floor*1.5 {
		t.Errorf("batch used %.3f cores while clamped to %.2f", rate, floor)
	}
	t.Logf("quota clamped to %.2f cores %d fast samples after the spike", ta.State().Applied.CPUQuota, fastAfter-fastBefore)
}

// A memory hog among batch tasks is evicted before the host's available
// memory reaches the watermark; the business process survives.
func TestMemoryHogIsEvicted(t *testing.T) {
	stress := testutil.NeedCommand(t, "stress-ng", "stress-ng")
	ta := startAgent(t, nil)
	// Cap batch memory at 512 MiB: a hog growing past it must go.
	if err := ta.SetOverride(&Override{Mode: OverrideCap, MemBytes: 512 << 20}); err != nil {
		t.Fatal(err)
	}
	business, err := ta.h.Create(ta.parent+"/business", cgroup.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	biz := exec.Command(stress, "--vm", "1", "--vm-bytes", "128M", "--vm-keep", "--vm-hang", "0", "--timeout", "120s")
	biz.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cgroup.StartInGroup(biz, business); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-biz.Process.Pid, syscall.SIGKILL)
		_ = biz.Wait()
	})
	testutil.Eventually(t, 90*time.Second, 100*time.Millisecond, func() bool {
		return ta.State().Applied.MemBytes >= 256<<20
	}, "harvestable memory to grow to the cap")

	p := ta.cfg.Monitor.Policy
	var minAvail atomic.Uint64
	minAvail.Store(^uint64(0))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if avail, total, err := meminfo(); err == nil {
				if avail < minAvail.Load() {
					minAvail.Store(avail)
				}
				_ = total
			}
		}
	}()
	hog := api.TaskInfo{ID: "hog", Cmd: stress + " --vm 1 --vm-bytes 1536M --vm-keep --vm-hang 0 --timeout 120s", Revocable: true,
		KillGracePeriodSeconds: 1, Resources: resources.Resources{CPUs: 0.5, MemBytes: 4 << 30}}
	if code, body := ta.do(t, http.MethodPost, "/api/v1/tasks", hog); code != http.StatusAccepted {
		t.Fatalf("launch: %d %s", code, body)
	}
	st := waitTask(t, ta.Agent, "hog", 60*time.Second, func(s api.TaskStatus) bool { return s.State.IsTerminal() }, "evicted")
	close(stop)
	wg.Wait()
	if st.State != api.TaskPreempted || st.Reason != api.ReasonPreemptedMemory {
		t.Fatalf("hog ended %s (%s: %s), want preempted for memory", st.State, st.Reason, st.Message)
	}
	_, total, err := meminfo()
	if err != nil {
		t.Fatal(err)
	}
	watermark := uint64(p.Pressure.MemoryWatermark * float64(total))
	if minAvail.Load() < watermark {
		t.Errorf("available memory fell to %d, under the watermark %d", minAvail.Load(), watermark)
	}
	if err := biz.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the business process died: %v", err)
	}
	if ev := ta.State().Evictions; ev[EvictOverHarvest]+ev[EvictMemoryRequest] == 0 {
		t.Errorf("no eviction counted: %v", ev)
	}
}

func meminfo() (avail, total uint64, err error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseUint(f[1], 10, 64)
		switch f[0] {
		case "MemTotal:":
			total = v << 10
		case "MemAvailable:":
			avail = v << 10
		}
	}
	return avail, total, nil
}

// A revocable task clamped to the CPU floor for longer than the policy's
// starvation limit is evicted, with its reason; a task that is not clamped
// is left alone.
func TestCPUStarvationEvicts(t *testing.T) {
	ta := startAgent(t, func(c *Config) {
		c.Monitor.Policy.Pressure.CPUStarvationEvictAfter = model.Duration(2 * time.Second)
	})
	// Room for the task first, then clamp CPU to the floor.
	if err := ta.SetOverride(&Override{Mode: OverrideFixed, CPUs: 1, MemBytes: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	task := api.TaskInfo{ID: "starved", Cmd: "sleep 600", Revocable: true,
		KillGracePeriodSeconds: 1, Resources: resources.Resources{CPUs: 0.1, MemBytes: 32 << 20}}
	if code, body := ta.do(t, http.MethodPost, "/api/v1/tasks", task); code != http.StatusAccepted {
		t.Fatalf("launch: %d %s", code, body)
	}
	waitTask(t, ta.Agent, "starved", 30*time.Second, isState(api.TaskRunning), "running")
	if err := ta.SetOverride(&Override{Mode: OverrideFixed, CPUs: 0, MemBytes: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	clamped := time.Now()
	st := waitTask(t, ta.Agent, "starved", 60*time.Second, func(s api.TaskStatus) bool { return s.State.IsTerminal() }, "evicted for starvation")
	if st.State != api.TaskPreempted || st.Reason != api.ReasonPreemptedCPU {
		t.Fatalf("ended %s (%s), want preempted for CPU starvation", st.State, st.Reason)
	}
	if waited := time.Since(clamped); waited < 2*time.Second {
		t.Errorf("evicted %v after the clamp, before the 2 s limit", waited)
	}
	if n := ta.State().Evictions[EvictCPUStarvation]; n != 1 {
		t.Errorf("%d starvation evictions counted, want 1", n)
	}
}
