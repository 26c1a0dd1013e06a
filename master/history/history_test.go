package history

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)

func sample(cpus float64, reason string) Sample {
	return Sample{BusinessCPUs: 4, BatchCPUs: cpus / 2, HarvestCPUs: cpus, ReservedCPUs: cpus,
		BusinessMem: 8 << 30, BatchMem: 1 << 30, HarvestMem: 2 << 30, ReservedMem: 2 << 30,
		CPUReason: reason, MemReason: "predictor"}
}

func TestFineBucketsAreMeans(t *testing.T) {
	h := New(Config{})
	// Two heartbeats per 30 s bucket: 2 and 4 average to 3.
	for i := range 10 {
		h.Observe("a", sample(float64(2+2*(i%2)), "growth"), t0.Add(time.Duration(i)*15*time.Second))
	}
	v, err := h.Agent("a")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Fine.T) != 5 || v.Fine.StepSeconds != 30 {
		t.Fatalf("fine = %d points, step %d: %+v", len(v.Fine.T), v.Fine.StepSeconds, v.Fine)
	}
	for i, c := range v.Fine.HarvestCPUs {
		if c != 3 {
			t.Errorf("point %d harvest = %v, want the mean 3", i, c)
		}
		if v.Fine.T[i] != t0.Unix()+int64(30*i) {
			t.Errorf("point %d at %d, want %d", i, v.Fine.T[i], t0.Unix()+int64(30*i))
		}
	}
	if v.Fine.CPUReason[0] != "growth" || v.Fine.MemReason[0] != "predictor" {
		t.Errorf("reasons = %v %v", v.Fine.CPUReason, v.Fine.MemReason)
	}
}

func TestRingsAreBoundedAndDownsampled(t *testing.T) {
	cfg := Config{FineStep: 10 * time.Second, FinePoints: 6, CoarseStep: 60 * time.Second, CoarsePoints: 3}
	h := New(cfg)
	// 30 minutes of heartbeats every 10 s, the harvest counting minutes.
	for i := range 180 {
		now := t0.Add(time.Duration(i) * 10 * time.Second)
		h.Observe("a", sample(float64(i/6), "growth"), now)
	}
	v, _ := h.Agent("a")
	if got := len(v.Fine.T); got != 6+1 {
		t.Errorf("fine has %d points, want the ring's 6 and the open bucket", got)
	}
	if got := len(v.Coarse.T); got != 3+1 {
		t.Errorf("coarse has %d points, want the ring's 3 and the open bucket", got)
	}
	// The coarse points are whole minutes, whose fine points all had the
	// minute's value.
	for i, c := range v.Coarse.HarvestCPUs[:3] {
		if want := float32((v.Coarse.T[i] - t0.Unix()) / 60); c != want {
			t.Errorf("coarse point %d = %v, want %v", i, c, want)
		}
	}
	for i := 1; i < len(v.Fine.T); i++ {
		if v.Fine.T[i] <= v.Fine.T[i-1] {
			t.Errorf("fine times not increasing: %v", v.Fine.T)
		}
	}
}

func TestClusterTotalsFollowAgents(t *testing.T) {
	h := New(Config{})
	h.Observe("a", sample(2, "growth"), t0)
	h.Observe("b", sample(3, "growth"), t0)
	h.Observe("a", sample(4, "growth"), t0.Add(time.Second)) // a's new figure replaces its old one
	c := h.Cluster()
	last := len(c.Fine.T) - 1
	if got := c.Fine.HarvestCPUs[last]; got != float32((2+5+7)/3.0) {
		t.Errorf("cluster harvest = %v, want the mean of totals 2, 5, 7", got)
	}
	h.Observe("a", sample(4, "growth"), t0.Add(31*time.Second))
	h.Forget("b")
	h.Observe("a", sample(4, "growth"), t0.Add(61*time.Second))
	c = h.Cluster()
	if got := c.Fine.HarvestCPUs[len(c.Fine.T)-1]; got != 4 {
		t.Errorf("after b is gone the cluster harvest = %v, want a's 4", got)
	}
	if c.Fine.CPUReason != nil {
		t.Errorf("the cluster has reasons: %v", c.Fine.CPUReason)
	}
	if _, err := h.Agent("b"); err == nil {
		t.Error("b forgotten, still has a series")
	}
	if h.Agents() != 1 {
		t.Errorf("agents = %d", h.Agents())
	}
}

func TestChangesOfTheReservation(t *testing.T) {
	h := New(Config{})
	for i, s := range []Sample{sample(2, "growth"), sample(2, "growth"), sample(1, "pressure"), sample(1, "pressure"), sample(1, "predictor")} {
		h.Observe("a", s, t0.Add(time.Duration(i)*30*time.Second))
	}
	v, _ := h.Agent("a")
	if len(v.Changes) != 2 {
		t.Fatalf("changes = %+v, want the drop and the reason change", v.Changes)
	}
	if c := v.Changes[0]; c.Resource != "cpu" || c.Reason != "pressure" || c.From != 2 || c.To != 1 || c.T != t0.Unix()+60 {
		t.Errorf("first change = %+v", c)
	}
	if c := v.Changes[1]; c.Reason != "predictor" || c.From != 1 || c.To != 1 {
		t.Errorf("second change = %+v", c)
	}
}

func TestClockBackAndReasonBound(t *testing.T) {
	h := New(Config{})
	h.Observe("a", sample(1, "r0"), t0)
	h.Observe("a", sample(1, "r1"), t0.Add(-time.Hour)) // stepped back: counted in the first bucket
	for i := range 400 {
		h.Observe("a", sample(1, fmt.Sprintf("reason-%d", i)), t0.Add(time.Duration(i+1)*30*time.Second))
	}
	if len(h.reasons) > maxReasons {
		t.Errorf("%d reasons interned, bound %d", len(h.reasons), maxReasons)
	}
	v, _ := h.Agent("a")
	if got := v.Fine.CPUReason[len(v.Fine.CPUReason)-1]; got != otherReason {
		t.Errorf("reason past the bound = %q, want %q", got, otherReason)
	}
}

func TestHandler(t *testing.T) {
	h := New(Config{})
	h.Observe("web-1", sample(2, "growth"), t0)
	for _, tc := range []struct {
		query string
		code  int
		agent string
	}{{"", 200, ""}, {"?agent=web-1", 200, "web-1"}, {"?agent=nope", 404, ""}} {
		rec := httptest.NewRecorder()
		h.Handler()(rec, httptest.NewRequest(http.MethodGet, "/api/v1/history"+tc.query, nil))
		if rec.Code != tc.code {
			t.Errorf("%s: %d %s", tc.query, rec.Code, rec.Body)
			continue
		}
		if tc.code != 200 {
			continue
		}
		var v View
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || v.Agent != tc.agent || len(v.Fine.T) != 1 {
			t.Errorf("%s: %v %+v", tc.query, err, v)
		}
	}
}

// MaxBytesPerAgent is the stated memory of one agent's series at the
// default sizes (the benchmark measures 50,000 of them).
const MaxBytesPerAgent = 8 << 10

// The memory is allocated with an agent's first sample: five hours of
// samples, past both rings' sizes, cost what one does.
func TestMemoryPerAgentIsFixed(t *testing.T) {
	first := bytesPerAgent(2000, time.Second)
	full := bytesPerAgent(2000, 5*time.Hour)
	t.Logf("%.0f bytes per agent after one sample, %.0f after five hours", first, full)
	if full > MaxBytesPerAgent {
		t.Errorf("%.0f bytes per agent, over the stated %d", full, MaxBytesPerAgent)
	}
	if full > first*1.05 {
		t.Errorf("the series grew from %.0f to %.0f bytes per agent", first, full)
	}
}

// bytesPerAgent observes n agents for d and measures the heap they hold.
func bytesPerAgent(n int, d time.Duration) float64 {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("agent-%06d", i)
	}
	before := heap()
	h := New(Config{})
	fill(h, ids, d)
	after := heap()
	runtime.KeepAlive(h)
	return float64(after-before) / float64(n)
}

// fill observes every agent once a fine step for d.
func fill(h *History, ids []string, d time.Duration) {
	for at := time.Duration(0); at < d; at += h.cfg.FineStep {
		for i, id := range ids {
			h.Observe(id, sample(float64(i%8), "growth"), t0.Add(at))
		}
	}
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
