package master

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/resources"
)

// benchAgent accepts launches and reports each task running on its next
// heartbeat, as a real agent whose tasks start at once would.
type benchAgent struct {
	srv     *httptest.Server
	id      string
	mu      sync.Mutex
	pending []api.TaskStatus
}

func startBenchAgent(b *testing.B, masterURL string, i int) *benchAgent {
	a := &benchAgent{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var t api.TaskInfo
		if r.URL.Path != "/api/v1/tasks" || json.NewDecoder(r.Body).Decode(&t) != nil {
			w.WriteHeader(http.StatusAccepted) // kills and the rest: accepted
			return
		}
		a.mu.Lock()
		a.pending = append(a.pending, api.TaskStatus{TaskID: t.ID, FrameworkID: t.FrameworkID, State: api.TaskRunning,
			UUID: uuid.NewString(), Timestamp: time.Now()})
		a.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	b.Cleanup(a.srv.Close)
	var resp agentproto.RegisterResponse
	post(b, masterURL+"/api/v1/agents/register", agentproto.RegisterRequest{Hostname: fmt.Sprintf("bench-%d", i), URL: a.srv.URL,
		Revocable: resources.Resources{CPUs: 64, MemBytes: 256 << 30}}, &resp)
	a.id = resp.AgentID
	return a
}

func post(b *testing.B, url string, body, out any) {
	data, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b.Fatalf("POST %s: %s", url, resp.Status)
	}
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
}

func (a *benchAgent) beat(masterURL string) error {
	a.mu.Lock()
	updates := append([]api.TaskStatus(nil), a.pending...)
	a.mu.Unlock()
	data, _ := json.Marshal(agentproto.Heartbeat{AgentID: a.id, Revocable: resources.Resources{CPUs: 64, MemBytes: 256 << 30}, Updates: updates})
	resp, err := http.Post(masterURL+"/api/v1/agents/"+a.id+"/heartbeat", "application/json", bytes.NewReader(data))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var hr agentproto.HeartbeatResponse
	if err := json.NewDecoder(resp.Body).Decode(&hr); err != nil {
		return err
	}
	acked := map[string]bool{}
	for _, u := range hr.Acks {
		acked[u] = true
	}
	a.mu.Lock()
	kept := a.pending[:0]
	for _, u := range a.pending {
		if !acked[u.UUID] {
			kept = append(kept, u)
		}
	}
	a.pending = kept
	a.mu.Unlock()
	return nil
}

// BenchmarkAppLaunchThroughput measures app tasks launched per second end
// to end through the master: an app of 500 instances is created over HTTP
// and timed until all its tasks are reported running by 10 agents that
// heartbeat every 100 ms. The allocation cycle (1 s by default) bounds it.
func BenchmarkAppLaunchThroughput(b *testing.B) {
	m, url := benchMaster(b)
	agents := make([]*benchAgent, 10)
	for i := range agents {
		agents[i] = startBenchAgent(b, url, i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, a := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					_ = a.beat(url)
				}
			}
		}()
	}
	b.Cleanup(func() { cancel(); wg.Wait() })

	const instances = 500
	var total time.Duration
	b.ResetTimer()
	for i := range b.N {
		app := fmt.Sprintf(`{"id":"/bench/app-%d","cmd":"true","cpus":0.01,"mem":1,"instances":%d}`, i, instances)
		start := time.Now()
		post(b, url+"/v2/apps", json.RawMessage(app), nil)
		for {
			st, err := m.AppStatus(fmt.Sprintf("bench/app-%d", i))
			if err == nil && st.TasksRunning == instances {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		total += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(instances*b.N)/total.Seconds(), "tasks/s")
}
