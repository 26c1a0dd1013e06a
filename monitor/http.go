package monitor

import (
	"html/template"
	"net/http"
	"time"

	"github.com/headroom-dev/headroom/internal/httpserver"
	"github.com/headroom-dev/headroom/monitor/estimate"
)

// EstimateView is the JSON form of the monitor's state at
// GET /api/v1/estimate.
type EstimateView struct {
	Time             time.Time       `json:"time"`
	HarvestableCPUs  float64         `json:"harvestable_cpus"`
	HarvestableBytes uint64          `json:"harvestable_mem_bytes"`
	CPUReason        estimate.Reason `json:"cpu_reason"`
	MemReason        estimate.Reason `json:"mem_reason"`
	EvictBytes       uint64          `json:"evict_bytes"`
	PredictedCPUs    float64         `json:"predicted_peak_cpus"`
	PredictedBytes   uint64          `json:"predicted_peak_mem_bytes"`
	TargetCPUs       float64         `json:"target_cpus"`
	TargetBytes      uint64          `json:"target_mem_bytes"`
	Degraded         bool            `json:"degraded"`
	OnlineCPUs       float64         `json:"online_cpus"`
	BusinessCPUs     float64         `json:"business_cpus"`
	BatchCPUs        float64         `json:"batch_cpus"`
	MemTotal         uint64          `json:"mem_total_bytes"`
	BusinessBytes    uint64          `json:"business_mem_bytes"`
	BatchBytes       uint64          `json:"batch_mem_bytes"`
	LastError        string          `json:"last_error,omitempty"`
}

// View returns the JSON view of a snapshot.
func (s Snapshot) View() EstimateView {
	e := s.Estimate
	return EstimateView{
		Time: e.Time, HarvestableCPUs: e.CPU, HarvestableBytes: e.Mem,
		CPUReason: e.CPUReason, MemReason: e.MemReason, EvictBytes: e.EvictBytes,
		PredictedCPUs: e.PredictedCPU, PredictedBytes: e.PredictedMem,
		TargetCPUs: e.TargetCPU, TargetBytes: e.TargetMem, Degraded: e.Degraded,
		OnlineCPUs: s.Sample.OnlineCPUs, BusinessCPUs: s.Sample.BusinessCPU, BatchCPUs: s.Sample.BatchCPU,
		MemTotal: s.Sample.MemTotal, BusinessBytes: s.Sample.BusinessMem, BatchBytes: s.Sample.BatchMem,
		LastError: s.LastError,
	}
}

var landing = template.Must(template.New("landing").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>headroom {{.Component}}</title></head>
<body>
<h1>headroom {{.Component}}</h1>
<p>Safely harvestable for batch work now: <b>{{printf "%.2f" .View.HarvestableCPUs}}</b> cores ({{.View.CPUReason}}),
<b>{{printf "%.2f" .MemGiB}}</b> GiB memory ({{.View.MemReason}}){{if .View.Degraded}} &mdash; <b>degraded: sampling is failing</b>{{end}}.</p>
<ul>
<li><a href="metrics">/metrics</a>: Prometheus metrics</li>
<li><a href="api/v1/estimate">/api/v1/estimate</a>: the current estimate as JSON</li>
<li><a href="healthz">/healthz</a>: 200 while sampling works, 503 when degraded</li>
</ul>
</body></html>
`))

// Handler serves the landing page, /api/v1/estimate and /healthz.
// component names the binary part on the landing page ("monitor", "agent").
func (m *Monitor) Handler(component string) http.Handler {
	mux := http.NewServeMux()
	m.Register(mux, component)
	return mux
}

// Routes is the monitor's whole server: Handler's routes and, when metrics
// is not nil, GET /metrics. Every route names its method, so any other
// method gets 405 with Allow.
func (m *Monitor) Routes(metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	m.Register(mux, "monitor")
	return mux
}

// Register adds Handler's routes to mux, for a server (the agent's) that
// serves them next to its own.
func (m *Monitor) Register(mux *http.ServeMux, component string) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		v := m.Snapshot().View()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = landing.Execute(w, map[string]any{
			"Component": component, "View": v,
			"MemGiB": float64(v.HarvestableBytes) / (1 << 30),
		})
	})
	mux.HandleFunc("GET /api/v1/estimate", func(w http.ResponseWriter, _ *http.Request) {
		httpserver.WriteJSON(w, http.StatusOK, m.Snapshot().View())
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if m.Snapshot().Estimate.Degraded {
			httpserver.WriteError(w, http.StatusServiceUnavailable, "degraded: sampling has failed past degrade_after", m.Snapshot().LastError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
}
