package history

import (
	"sync"
	"time"
)

// Figures, in the order of a point's values.
const (
	businessCPUs = iota
	batchCPUs
	harvestCPUs
	reservedCPUs
	businessMem
	batchMem
	harvestMem
	reservedMem
	nFigures
)

// Sample is what one heartbeat says about an agent. CPUs are cores,
// memory bytes.
type Sample struct {
	// Business is the predicted business peak the harvest is computed
	// against; Batch what the agent's tasks use; Harvest the estimate;
	// Reserved the reservation the agent applies (and offers).
	BusinessCPUs, BatchCPUs, HarvestCPUs, ReservedCPUs float64
	BusinessMem, BatchMem, HarvestMem, ReservedMem     float64
	// CPUReason and MemReason say what bounds the harvest.
	CPUReason, MemReason string
}

func (s Sample) values() [nFigures]float64 {
	return [nFigures]float64{s.BusinessCPUs, s.BatchCPUs, s.HarvestCPUs, s.ReservedCPUs,
		s.BusinessMem, s.BatchMem, s.HarvestMem, s.ReservedMem}
}

// Config sizes the series. Zero fields take the defaults.
type Config struct {
	// FineStep and FinePoints: an agent's recent series (30 s × 120: the
	// last hour).
	FineStep   time.Duration
	FinePoints int
	// CoarseStep and CoarsePoints: its older series, downsampled from the
	// fine one (5 min × 48: four hours).
	CoarseStep   time.Duration
	CoarsePoints int
	// ClusterCoarsePoints is the cluster's coarse series (288: a day at
	// the coarse step); its fine one is as an agent's.
	ClusterCoarsePoints int
}

func (c *Config) defaults() {
	if c.FineStep <= 0 {
		c.FineStep = 30 * time.Second
	}
	if c.FinePoints <= 0 {
		c.FinePoints = 120
	}
	if c.CoarseStep < c.FineStep {
		c.CoarseStep = max(5*time.Minute, c.FineStep)
	}
	if c.CoarsePoints <= 0 {
		c.CoarsePoints = 48
	}
	if c.ClusterCoarsePoints <= 0 {
		c.ClusterCoarsePoints = 288
	}
}

// maxReasons bounds the reason table: a point keeps a reason as a byte.
const maxReasons = 255

// otherReason stands for reasons past the table's bound.
const otherReason = "other"

// History is the series of the cluster and of every agent it was told
// about and not told to forget.
type History struct {
	cfg Config

	mu sync.Mutex
	// epoch is the time points are counted from (the first observation):
	// a point's time is 4 bytes of seconds after it.
	epoch   time.Time
	started bool
	agents  map[string]*agentSeries
	cluster series
	// total is the sum of the agents' latest values: the cluster now.
	total [nFigures]float64
	// reasons interns the bound reasons; index 0 is "", 1 otherReason.
	reasons []string
	reasonN map[string]uint8
}

// agentSeries is one agent's: its latest values (for the cluster's
// totals) and its series.
type agentSeries struct {
	last [nFigures]float32
	s    series
}

// New returns an empty history.
func New(cfg Config) *History {
	cfg.defaults()
	h := &History{cfg: cfg, agents: map[string]*agentSeries{}, reasons: []string{"", otherReason},
		reasonN: map[string]uint8{"": 0, otherReason: 1}}
	h.cluster = newSeries(cfg.FinePoints, cfg.ClusterCoarsePoints)
	return h
}

// Observe records an agent's sample at now.
func (h *History) Observe(agentID string, s Sample, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.started {
		h.epoch, h.started = now.Truncate(h.cfg.CoarseStep), true
	}
	at := h.seconds(now)
	a, ok := h.agents[agentID]
	if !ok {
		a = &agentSeries{s: newSeries(h.cfg.FinePoints, h.cfg.CoarsePoints)}
		h.agents[agentID] = a
	}
	v := s.values()
	for i := range v {
		h.total[i] += v[i] - float64(a.last[i])
		a.last[i] = float32(v[i])
	}
	a.s.add(h.steps(), at, v, h.intern(s.CPUReason), h.intern(s.MemReason))
	h.cluster.add(h.steps(), at, h.total, 0, 0)
}

// Forget drops an agent (gone from the registry): its series and its
// share of the cluster's totals.
func (h *History) Forget(agentID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.agents[agentID]; !ok {
		return
	}
	delete(h.agents, agentID)
	// Summed again rather than subtracted, so that float drift does not
	// accumulate over the agents' comings and goings.
	h.total = [nFigures]float64{}
	for _, o := range h.agents {
		for i, v := range o.last {
			h.total[i] += float64(v)
		}
	}
}

// Agents is how many agents have a series.
func (h *History) Agents() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.agents)
}

type steps struct{ fine, coarse uint32 }

func (h *History) steps() steps {
	return steps{uint32(h.cfg.FineStep / time.Second), uint32(h.cfg.CoarseStep / time.Second)}
}

// seconds is now as a point's time; an observation from before the epoch
// (a clock stepped back) counts at the epoch.
func (h *History) seconds(now time.Time) uint32 {
	d := now.Sub(h.epoch)
	if d < 0 {
		return 0
	}
	return uint32(min(d/time.Second, 1<<32-1))
}

func (h *History) intern(reason string) uint8 {
	if i, ok := h.reasonN[reason]; ok {
		return i
	}
	if len(h.reasons) >= maxReasons {
		return h.reasonN[otherReason]
	}
	i := uint8(len(h.reasons))
	h.reasons = append(h.reasons, reason)
	h.reasonN[reason] = i
	return i
}

// point is one bucket: 40 bytes.
type point struct {
	at             uint32 // seconds after the epoch, the bucket's start
	v              [nFigures]float32
	cpuWhy, memWhy uint8
}

// acc accumulates one bucket's samples: the mean of the values, the last
// reasons.
type acc struct {
	at             uint32
	n              uint32
	sum            [nFigures]float64
	cpuWhy, memWhy uint8
}

func (a *acc) point() point {
	p := point{at: a.at, cpuWhy: a.cpuWhy, memWhy: a.memWhy}
	for i, s := range a.sum {
		p.v[i] = float32(s / float64(a.n))
	}
	return p
}

// ring is a fixed circle of points, oldest first from head.
type ring struct {
	pts     []point
	head, n int
}

func (r *ring) push(p point) {
	if len(r.pts) == 0 {
		return
	}
	i := (r.head + r.n) % len(r.pts)
	r.pts[i] = p
	if r.n < len(r.pts) {
		r.n++
	} else {
		r.head = (r.head + 1) % len(r.pts)
	}
}

func (r *ring) each(f func(point)) {
	for i := range r.n {
		f(r.pts[(r.head+i)%len(r.pts)])
	}
}

// series is a fine ring fed by samples and a coarse one fed by the fine
// ring's completed points, each with its open bucket.
type series struct {
	fine, coarse       ring
	fineAcc, coarseAcc acc
}

// newSeries allocates both rings at once: the memory is fixed from here.
func newSeries(fine, coarse int) series {
	pts := make([]point, fine+coarse)
	return series{fine: ring{pts: pts[:fine:fine]}, coarse: ring{pts: pts[fine:]}}
}

func (s *series) add(st steps, at uint32, v [nFigures]float64, cpuWhy, memWhy uint8) {
	bucket := at - at%st.fine
	if s.fineAcc.n > 0 && bucket > s.fineAcc.at {
		p := s.fineAcc.point()
		s.fine.push(p)
		s.addCoarse(st, p)
		s.fineAcc = acc{}
	}
	if s.fineAcc.n == 0 {
		s.fineAcc.at = bucket
	}
	s.fineAcc.n++
	for i := range v {
		s.fineAcc.sum[i] += v[i]
	}
	s.fineAcc.cpuWhy, s.fineAcc.memWhy = cpuWhy, memWhy
}

func (s *series) addCoarse(st steps, p point) {
	bucket := p.at - p.at%st.coarse
	if s.coarseAcc.n > 0 && bucket > s.coarseAcc.at {
		s.coarse.push(s.coarseAcc.point())
		s.coarseAcc = acc{}
	}
	if s.coarseAcc.n == 0 {
		s.coarseAcc.at = bucket
	}
	s.coarseAcc.n++
	for i, x := range p.v {
		s.coarseAcc.sum[i] += float64(x)
	}
	s.coarseAcc.cpuWhy, s.coarseAcc.memWhy = p.cpuWhy, p.memWhy
}
