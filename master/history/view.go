package history

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"time"

	"github.com/headroom-dev/headroom/internal/httpserver"
)

// ErrUnknownAgent is an agent without a series.
var ErrUnknownAgent = errors.New("no history for this agent")

// Series is one resolution of a series, by column (the shape charts
// take): T are the buckets' starts in Unix seconds, each figure's values
// line up with them. The last point is the bucket still filling.
type Series struct {
	StepSeconds  int       `json:"step_seconds"`
	T            []int64   `json:"t"`
	BusinessCPUs []float32 `json:"business_cpus"`
	BatchCPUs    []float32 `json:"batch_cpus"`
	HarvestCPUs  []float32 `json:"harvest_cpus"`
	ReservedCPUs []float32 `json:"reserved_cpus"`
	BusinessMem  []float32 `json:"business_mem_bytes"`
	BatchMem     []float32 `json:"batch_mem_bytes"`
	HarvestMem   []float32 `json:"harvest_mem_bytes"`
	ReservedMem  []float32 `json:"reserved_mem_bytes"`
	// CPUReason and MemReason are per point for an agent, absent for the
	// cluster.
	CPUReason []string `json:"cpu_reason,omitempty"`
	MemReason []string `json:"mem_reason,omitempty"`
}

// Change is a move of an agent's reservation or of what bounds it, for
// the timeline next to its chart.
type Change struct {
	T        int64   `json:"t"`
	Resource string  `json:"resource"` // "cpu" or "mem"
	Reason   string  `json:"reason"`
	From     float32 `json:"from"`
	To       float32 `json:"to"`
}

// View is GET /api/v1/history: the cluster's (Agent empty) or one agent's
// series at both resolutions.
type View struct {
	Agent   string   `json:"agent,omitempty"`
	Fine    Series   `json:"fine"`
	Coarse  Series   `json:"coarse"`
	Changes []Change `json:"changes,omitempty"`
}

// Cluster returns the cluster's series.
func (h *History) Cluster() View {
	h.mu.Lock()
	defer h.mu.Unlock()
	return View{Fine: h.columns(&h.cluster.fine, &h.cluster.fineAcc, h.cfg.FineStep, false),
		Coarse: h.columns(&h.cluster.coarse, &h.cluster.coarseAcc, h.cfg.CoarseStep, false)}
}

// Agent returns one agent's series and the changes of its reservation in
// the fine one.
func (h *History) Agent(id string) (View, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a, ok := h.agents[id]
	if !ok {
		return View{}, fmt.Errorf("agent %q: %w", id, ErrUnknownAgent)
	}
	v := View{Agent: id, Fine: h.columns(&a.s.fine, &a.s.fineAcc, h.cfg.FineStep, true),
		Coarse: h.columns(&a.s.coarse, &a.s.coarseAcc, h.cfg.CoarseStep, true)}
	v.Changes = changes(v.Fine)
	return v, nil
}

func (h *History) columns(r *ring, open *acc, step time.Duration, reasons bool) Series {
	n := r.n
	if open.n > 0 {
		n++
	}
	s := Series{StepSeconds: int(step / time.Second), T: make([]int64, 0, n)}
	cols := []*[]float32{&s.BusinessCPUs, &s.BatchCPUs, &s.HarvestCPUs, &s.ReservedCPUs,
		&s.BusinessMem, &s.BatchMem, &s.HarvestMem, &s.ReservedMem}
	for _, c := range cols {
		*c = make([]float32, 0, n)
	}
	if reasons {
		s.CPUReason, s.MemReason = make([]string, 0, n), make([]string, 0, n)
	}
	base := h.epoch.Unix()
	add := func(p point) {
		s.T = append(s.T, base+int64(p.at))
		for i, c := range cols {
			*c = append(*c, p.v[i])
		}
		if reasons {
			s.CPUReason = append(s.CPUReason, h.reasons[p.cpuWhy])
			s.MemReason = append(s.MemReason, h.reasons[p.memWhy])
		}
	}
	r.each(add)
	if open.n > 0 {
		add(open.point())
	}
	return s
}

// changes lists where the reservation moved by more than 1% or its
// reason changed, resource by resource.
func changes(s Series) []Change {
	var out []Change
	for _, res := range []struct {
		name    string
		val     []float32
		reasons []string
	}{{"cpu", s.ReservedCPUs, s.CPUReason}, {"mem", s.ReservedMem, s.MemReason}} {
		for i := 1; i < len(s.T); i++ {
			from, to := res.val[i-1], res.val[i]
			moved := math.Abs(float64(to-from)) > 0.01*math.Max(math.Abs(float64(from)), math.Abs(float64(to)))
			if moved || res.reasons[i] != res.reasons[i-1] {
				out = append(out, Change{T: s.T[i], Resource: res.name, Reason: res.reasons[i], From: from, To: to})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].T < out[j].T })
	return out
}

// Handler serves GET /api/v1/history: the cluster's series, or with
// ?agent=ID that agent's (404 when it has none).
func (h *History) Handler() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("agent")
		if id == "" {
			httpserver.WriteJSON(w, http.StatusOK, h.Cluster())
			return
		}
		v, err := h.Agent(id)
		if err != nil {
			httpserver.WriteError(w, http.StatusNotFound, "no history", err.Error())
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, v)
	}
}
