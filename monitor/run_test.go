package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/headroom-dev/headroom/monitor/estimate"
	"github.com/headroom-dev/headroom/monitor/estimate/estimatetest"
)

// scriptedSampler returns a calm host, or err when set; the first call of
// each kind warms up, as a real sampler does.
type scriptedSampler struct {
	mu     sync.Mutex
	err    error
	warmed map[bool]bool
	calls  int
}

func (s *scriptedSampler) take(now time.Time, fast bool) (estimate.Sample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.warmed == nil {
		s.warmed = map[bool]bool{}
	}
	if !s.warmed[fast] {
		s.warmed[fast] = true
		return estimate.Sample{}, ErrWarmingUp
	}
	if s.err != nil {
		return estimate.Sample{}, s.err
	}
	return estimatetest.Sample(now.Sub(estimatetest.Start()), fast, estimatetest.Constant(2, 8<<30)), nil
}

func (s *scriptedSampler) Sample(now time.Time) (estimate.Sample, error) { return s.take(now, false) }
func (s *scriptedSampler) SampleFast(now time.Time) (estimate.Sample, error) {
	return s.take(now, true)
}

func (s *scriptedSampler) fail(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

type countingObserver struct {
	mu    sync.Mutex
	kinds map[string]int
}

func (o *countingObserver) ObserveSample(kind string, _ time.Duration, _ error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.kinds[kind]++
}

func TestMonitorStep(t *testing.T) {
	clock := clockwork.NewFakeClockAt(estimatetest.Start())
	smp := &scriptedSampler{}
	rec, err := OpenRecorder(filepath.Join(t.TempDir(), "rec.csv"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() })
	obs := &countingObserver{kinds: map[string]int{}}
	var estimates int
	m, err := New(Config{Sampler: smp, Policy: estimate.DefaultPolicy(), Clock: clock, Recorder: rec, Observer: obs,
		OnEstimate: func(estimate.Estimate) { estimates++ }})
	if err != nil {
		t.Fatal(err)
	}
	m.Step(KindFull) // warming up: neither a sample nor an error
	m.Step(KindFast)
	if s := m.Snapshot(); s.Samples[KindFull] != 0 || s.Errors[KindFull] != 0 || estimates != 0 {
		t.Fatalf("after warm-up: %+v, %d estimates", s, estimates)
	}
	// A constant business: CPU grows after warmUp (no new values).
	n := int(estimatetest.WarmUp / time.Second)
	for range n {
		clock.Advance(time.Second)
		m.Step(KindFull)
		m.Step(KindFast)
	}
	s := m.Snapshot()
	if s.Samples[KindFull] != uint64(n) || s.Samples[KindFast] != uint64(n) || estimates != 2*n {
		t.Fatalf("samples %v, estimates %d", s.Samples, estimates)
	}
	if s.Estimate.CPU == 0 || s.Changes[estimate.Change{Resource: "cpu", Direction: "up"}] == 0 || s.Sample.MemTotal != estimatetest.Mem || !s.Fast.Fast {
		t.Fatalf("after %d s: %+v", n, s)
	}
	// The steering's state is published for the exporter.
	if st := s.Steering; st.Budget != estimate.DefaultPolicy().InterferenceBudget || st.Multiplier < estimate.SteerMinMultiplier || st.Multiplier > estimate.SteerMaxMultiplier || st.Samples > float64(n) || st.Events > st.Samples {
		t.Fatalf("steering after %d s: %+v", n, st)
	}
	if obs.kinds[KindFull] != n+1 || obs.kinds[KindFast] != n+1 {
		t.Fatalf("observer saw %v", obs.kinds)
	}

	// Failing full samples degrade after degrade_after; a failing fast
	// path alone does not.
	smp.fail(errors.New("proc is gone"))
	for range 12 {
		clock.Advance(time.Second)
		m.Step(KindFull)
		m.Step(KindFast)
	}
	s = m.Snapshot()
	if !s.Estimate.Degraded || s.Errors[KindFull] != 12 || s.Errors[KindFast] != 12 || s.LastError != "proc is gone" {
		t.Fatalf("after 12 s of failures: %+v", s)
	}
	if s.Changes[estimate.Change{Resource: "cpu", Direction: "down"}] == 0 {
		t.Fatal("degrading was not counted as a change")
	}

	rec.Close()
	data, _ := os.ReadFile(rec.f.Name())
	if rows := strings.Count(string(data), "\n"); rows != 2*n+1 {
		t.Fatalf("recording has %d lines, want header + %d", rows, 2*n)
	}
}

func TestMonitorRunStopsWithContext(t *testing.T) {
	clock := clockwork.NewFakeClockAt(estimatetest.Start())
	smp := &scriptedSampler{}
	m, err := New(Config{Sampler: smp, Policy: estimate.DefaultPolicy(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	// Two tickers wait on the fake clock: advance it and see samples.
	if err := clock.BlockUntilContext(ctx, 2); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		clock.Advance(200 * time.Millisecond)
	}
	deadline := time.Now().Add(10 * time.Second)
	for m.Snapshot().Samples[KindFast] == 0 && time.Now().Before(deadline) {
		clock.Advance(200 * time.Millisecond)
		time.Sleep(time.Millisecond)
	}
	if m.Snapshot().Samples[KindFast] == 0 {
		t.Fatal("no fast samples while the clock advanced")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := New(Config{Policy: estimate.DefaultPolicy()}); err == nil {
		t.Fatal("no sampler accepted")
	}
	p := estimate.DefaultPolicy()
	p.Reserve.CPUs = -1
	if _, err := New(Config{Sampler: &scriptedSampler{}, Policy: p}); err == nil || !strings.Contains(err.Error(), "reserve.cpus") {
		t.Fatalf("bad policy: %v", err)
	}
}

func TestMonitorHandler(t *testing.T) {
	clock := clockwork.NewFakeClockAt(estimatetest.Start())
	smp := &scriptedSampler{}
	m, err := New(Config{Sampler: smp, Policy: estimate.DefaultPolicy(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		m.Step(KindFull)
		clock.Advance(time.Second)
	}
	srv := httptest.NewServer(m.Handler("monitor"))
	t.Cleanup(srv.Close)
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/")
	if code != 200 || !strings.Contains(body, "headroom monitor") {
		t.Fatalf("landing: %d %s", code, body)
	}
	code, body = get("/api/v1/estimate")
	var v EstimateView
	if code != 200 || json.Unmarshal([]byte(body), &v) != nil || v.OnlineCPUs != estimatetest.Cores || v.MemTotal != estimatetest.Mem {
		t.Fatalf("estimate: %d %s", code, body)
	}
	if code, _ = get("/healthz"); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	if code, _ = get("/nope"); code != 404 {
		t.Fatalf("unknown path: %d", code)
	}
	smp.fail(errors.New("broken"))
	for range 12 {
		m.Step(KindFull)
		clock.Advance(time.Second)
	}
	if code, body = get("/healthz"); code != 503 || !strings.Contains(body, "broken") {
		t.Fatalf("healthz when degraded: %d %s", code, body)
	}
}
