package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/headroom-dev/headroom/monitor/estimate"
)

// The two kinds of sample, as exported in metric labels and recordings.
const (
	KindFull = "full"
	KindFast = "fast"
)

// ErrWarmingUp is what a Sampler returns while it has only one reading:
// rates need two. Run does not count it as a failure.
var ErrWarmingUp = errors.New("sampler warming up: rates need two readings")

// Sampler reads the host. Implementations keep the previous counters to
// turn them into rates, so a Sampler is used by one goroutine at a time.
type Sampler interface {
	// Sample takes a full sample.
	Sample(now time.Time) (estimate.Sample, error)
	// SampleFast takes a fast-path sample (CPU only).
	SampleFast(now time.Time) (estimate.Sample, error)
}

// Observer is told about every sample taken, for instrumentation.
type Observer interface {
	ObserveSample(kind string, took time.Duration, err error)
}

// Config configures a Monitor.
type Config struct {
	Sampler Sampler
	Policy  estimate.Policy
	// Clock drives the tickers; the real clock when nil.
	Clock  clockwork.Clock
	Logger *slog.Logger
	// Recorder, when set, receives every sample.
	Recorder *Recorder
	Observer Observer
	// OnEstimate, when set, is called from the sampling goroutine with
	// every estimate, after the snapshot is published. The agent applies
	// estimates there; it must not block for long.
	OnEstimate func(estimate.Estimate)
}

// Snapshot is the monitor's published state, read by the exporter and the
// HTTP handlers without touching the sampling goroutine.
type Snapshot struct {
	// Sample is the last full sample; Fast the last fast one.
	Sample   estimate.Sample
	Fast     estimate.Sample
	Estimate estimate.Estimate
	Policy   estimate.Policy
	// Steering is the CPU error bound's steering to the interference
	// budget: what was spent, and the multiplier it set.
	Steering estimate.Steering
	// Changes counts reservation moves by resource and direction.
	Changes map[estimate.Change]uint64
	// Samples and Errors count samples taken and failed, by kind.
	Samples          map[string]uint64
	Errors           map[string]uint64
	EvictionRequests uint64
	Started          time.Time
	LastError        string
}

// Monitor runs the sampler and the estimator on their tickers.
type Monitor struct {
	cfg Config
	est *estimate.Estimator
	log *slog.Logger

	mu   sync.RWMutex
	snap Snapshot

	// lastLogged rate-limits failure logs: a broken /proc would otherwise
	// log five lines a second.
	lastLogged map[string]time.Time
}

// New validates cfg and returns a monitor ready to Run.
func New(cfg Config) (*Monitor, error) {
	if cfg.Sampler == nil {
		return nil, errors.New("monitor: no sampler")
	}
	est, err := estimate.NewEstimator(cfg.Policy)
	if err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Monitor{cfg: cfg, est: est, log: cfg.Logger, lastLogged: map[string]time.Time{}}
	m.snap = Snapshot{
		Estimate: est.Current(),
		Steering: est.Steering(),
		Policy:   cfg.Policy,
		Changes:  map[estimate.Change]uint64{},
		Samples:  map[string]uint64{},
		Errors:   map[string]uint64{},
		Started:  cfg.Clock.Now(),
	}
	return m, nil
}

// Snapshot returns a copy of the published state.
func (m *Monitor) Snapshot() Snapshot {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s := m.snap
	s.Changes = maps.Clone(s.Changes)
	s.Samples = maps.Clone(s.Samples)
	s.Errors = maps.Clone(s.Errors)
	s.Sample.Services = append([]estimate.ServiceUsage(nil), s.Sample.Services...)
	return s
}

// Run samples until ctx is done. It takes a full sample at once (the
// sampler warms up), then ticks the fast and full paths.
func (m *Monitor) Run(ctx context.Context) error {
	p := m.cfg.Policy
	full := m.cfg.Clock.NewTicker(time.Duration(p.Sampling.Interval))
	defer full.Stop()
	fast := m.cfg.Clock.NewTicker(time.Duration(p.Sampling.FastInterval))
	defer fast.Stop()

	m.Step(KindFull)
	m.Step(KindFast)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-full.Chan():
			m.Step(KindFull)
		case <-fast.Chan():
			m.Step(KindFast)
		}
	}
}

// Step takes one sample of the kind and feeds the estimator. Run calls it
// on each tick; tests call it directly with a fake sampler and clock.
func (m *Monitor) Step(kind string) estimate.Estimate {
	now := m.cfg.Clock.Now()
	var (
		s   estimate.Sample
		err error
	)
	if kind == KindFast {
		s, err = m.cfg.Sampler.SampleFast(now)
	} else {
		s, err = m.cfg.Sampler.Sample(now)
	}
	took := m.cfg.Clock.Since(now)
	if m.cfg.Observer != nil {
		m.cfg.Observer.ObserveSample(kind, took, err)
	}
	if err == nil {
		s.Time, s.Fast = now, kind == KindFast
	}

	prev := m.est.Current()
	var est estimate.Estimate
	switch {
	case errors.Is(err, ErrWarmingUp):
		return prev
	case err != nil && kind == KindFull:
		m.logFailure(kind, now, err)
		est = m.est.Fail(now)
	case err != nil:
		// A failing fast path leaves the full path in charge; only full
		// failures degrade the estimate.
		m.logFailure(kind, now, err)
		m.mu.Lock()
		m.snap.Errors[kind]++
		m.snap.LastError = err.Error()
		m.mu.Unlock()
		return prev
	default:
		est = m.est.Observe(s)
		if m.cfg.Recorder != nil {
			if rerr := m.cfg.Recorder.Record(s); rerr != nil {
				m.logFailure("record", now, rerr)
			}
		}
	}
	changes := estimate.Changes(prev, est)
	if est.Degraded && !prev.Degraded {
		m.log.Error("sampling failed past degrade_after: harvesting nothing until it recovers", "degrade_after", m.cfg.Policy.DegradeAfter)
	} else if prev.Degraded && !est.Degraded {
		m.log.Info("sampling recovered")
	}

	m.mu.Lock()
	if err != nil {
		m.snap.Errors[kind]++
		m.snap.LastError = err.Error()
	} else {
		m.snap.Samples[kind]++
		if kind == KindFast {
			m.snap.Fast = s
		} else {
			m.snap.Sample = s
			if est.EvictBytes > 0 {
				m.snap.EvictionRequests++
			}
		}
	}
	m.snap.Estimate = est
	m.snap.Steering = m.est.Steering()
	for _, c := range changes {
		m.snap.Changes[c]++
	}
	m.mu.Unlock()

	if m.cfg.OnEstimate != nil {
		m.cfg.OnEstimate(est)
	}
	return est
}

func (m *Monitor) logFailure(kind string, now time.Time, err error) {
	if last, ok := m.lastLogged[kind]; ok && now.Sub(last) < time.Minute {
		return
	}
	m.lastLogged[kind] = now
	m.log.Warn(fmt.Sprintf("%s sample failed", kind), "err", err)
}
