package master

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/resources"
)

// BenchmarkUIEndpoints answers every JSON route the web UI reads, over
// real HTTP, with HEADROOM_BENCH_AGENTS agents (10,000 by default) that
// have sent heartbeats: the time of one answer of each, in ms, which must
// stay well under 100.
func BenchmarkUIEndpoints(b *testing.B) {
	m, url := benchMaster(b)
	n := benchAgents()
	ids := make([]string, n)
	for i := range ids {
		resp, err := m.Register(context.Background(), agentproto.RegisterRequest{
			Hostname: fmt.Sprintf("host-%05d", i), URL: fmt.Sprintf("http://10.0.%d.%d:5051", i/250, i%250),
			Revocable: resources.Resources{CPUs: 8, MemBytes: 16 << 30},
		})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = resp.AgentID
	}
	for range 3 {
		for _, id := range ids {
			hb := agentproto.Heartbeat{AgentID: id, Revocable: resources.Resources{CPUs: 8, MemBytes: 16 << 30},
				Estimate: agentproto.Estimate{HarvestableCPUs: 8, HarvestableMemBytes: 16 << 30, CPUReason: "predictor", MemReason: "ceiling"}}
			if _, err := m.Heartbeat(hb); err != nil {
				b.Fatal(err)
			}
		}
	}
	client := &http.Client{Timeout: 30 * time.Second}
	for _, path := range []string{"/api/v1/state", "/api/v1/agents", "/api/v1/tasks", "/api/v1/frameworks",
		"/api/v1/leader", "/api/v1/history", "/api/v1/history?agent=" + ids[n/2], "/v2/apps", "/v2/deployments", "/v1/jobs"} {
		b.Run(path, func(b *testing.B) {
			start := time.Now()
			for range b.N {
				resp, err := client.Get(url + path)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%s: %s", path, resp.Status)
				}
			}
			ms := float64(time.Since(start).Microseconds()) / 1000 / float64(b.N)
			b.ReportMetric(ms, "ms/answer")
			if ms > 100 {
				b.Errorf("%s: %.1f ms per answer at %d agents, want well under 100", path, ms, n)
			}
		})
	}
}
