package history

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"
)

// BenchmarkMemory50k states the memory of the history at 50,000 agents:
// bytes in all and per agent (under MaxBytesPerAgent). The series are
// allocated whole with an agent's first sample
// (TestMemoryPerAgentIsFixed), so a minute of samples measures them full.
func BenchmarkMemory50k(b *testing.B) {
	for range b.N {
		per := bytesPerAgent(50000, time.Minute)
		b.ReportMetric(per*50000, "bytes")
		b.ReportMetric(per, "bytes/agent")
		if per > MaxBytesPerAgent {
			b.Fatalf("%.0f bytes per agent, over the stated %d", per, MaxBytesPerAgent)
		}
	}
}

// BenchmarkHandler10k is GET /api/v1/history at 10,000 agents with full
// series: the cluster's and one agent's answer, in ms (well under 100).
func BenchmarkHandler10k(b *testing.B) {
	ids := make([]string, 10000)
	for i := range ids {
		ids[i] = fmt.Sprintf("agent-%06d", i)
	}
	h := New(Config{})
	fill(h, ids, 5*time.Hour)
	runtime.GC()
	for _, q := range []string{"", "?agent=agent-004242"} {
		name := "cluster"
		if q != "" {
			name = "agent"
		}
		b.Run(name, func(b *testing.B) {
			start := time.Now()
			for range b.N {
				rec := httptest.NewRecorder()
				h.Handler()(rec, httptest.NewRequest(http.MethodGet, "/api/v1/history"+q, nil))
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code, rec.Body)
				}
			}
			ms := float64(time.Since(start).Microseconds()) / 1000 / float64(b.N)
			b.ReportMetric(ms, "ms/answer")
			if ms > 100 {
				b.Errorf("%.1f ms per answer, want well under 100", ms)
			}
		})
	}
}

// BenchmarkObserve is the cost of one heartbeat's observation at 10,000
// agents (under the master's lock).
func BenchmarkObserve(b *testing.B) {
	ids := make([]string, 10000)
	for i := range ids {
		ids[i] = fmt.Sprintf("agent-%06d", i)
	}
	h := New(Config{})
	fill(h, ids, time.Hour)
	b.ResetTimer()
	for i := range b.N {
		h.Observe(ids[i%len(ids)], sample(1, "growth"), t0.Add(time.Hour+time.Duration(i)*time.Millisecond))
	}
}
