package master

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/resources"
)

// simAgent plays a whole agent: it registers, heartbeats, "runs" the
// tasks the master launches (RUNNING at once, FINISHED after lifetime,
// or never when lifetime is zero), kills them on request, and re-sends
// every status update until the master acknowledges it. It re-registers
// with its tasks when the master asks, as a real agent does after a
// master failover.
type simAgent struct {
	t        *testing.T
	srv      *httptest.Server
	hostname string
	lifetime time.Duration
	pool     resources.Resources

	mu       sync.Mutex
	base     string
	id       string
	tasks    map[string]*simTask
	pending  []api.TaskStatus
	launched []api.TaskInfo
	errs     []string
	seq      int
	// paused stops the heartbeats, as a partition would.
	paused bool
}

// The lifetime of a task is a spread around the agent's: see the launch
// handler.

type simTask struct {
	info  api.TaskInfo
	state api.TaskState
	ends  time.Time
}

// startSimAgent registers a simulated agent with the master at base and
// heartbeats every interval until the test ends.
func startSimAgent(t *testing.T, base, hostname string, pool resources.Resources, attrs map[string]string, lifetime, interval time.Duration) *simAgent {
	t.Helper()
	a := &simAgent{t: t, base: base, hostname: hostname, lifetime: lifetime, pool: pool, tasks: map[string]*simTask{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/tasks", func(w http.ResponseWriter, r *http.Request) {
		var info api.TaskInfo
		if err := api.DecodeStrict(r.Body, &info, 1<<20); err != nil {
			a.fail("launch: " + err.Error())
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		a.launched = append(a.launched, info)
		// Lifetimes spread over 0.5-1.5× so that tasks launched together
		// do not all end together, as real ones do not.
		a.seq++
		spread := 0.5 + float64((a.seq*37)%100)/100
		a.tasks[info.ID] = &simTask{info: info, state: api.TaskRunning,
			ends: time.Now().Add(time.Duration(spread * float64(a.lifetime)))}
		a.statusLocked(info.ID, api.TaskRunning, api.ReasonStarted)
		a.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST /api/v1/tasks/{id}/kill", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.killLocked(r.PathValue("id"))
		a.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})
	a.srv = httptest.NewServer(mux)
	if err := a.register(context.Background(), attrs); err != nil {
		a.srv.Close()
		t.Fatalf("sim agent %s: %v", hostname, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				a.beat(ctx, attrs)
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		a.srv.Close()
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, e := range a.errs {
			t.Errorf("sim agent %s: %s", hostname, e)
		}
	})
	return a
}

func (a *simAgent) fail(msg string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errs = append(a.errs, msg)
}

func (a *simAgent) killLocked(id string) {
	if st := a.tasks[id]; st != nil && !st.state.IsTerminal() {
		st.state = api.TaskKilled
		a.statusLocked(id, api.TaskKilled, api.ReasonKilledByRequest)
	}
}

func (a *simAgent) statusLocked(id string, state api.TaskState, reason string) {
	a.seq++
	fw := ""
	if st := a.tasks[id]; st != nil {
		fw = st.info.FrameworkID
	}
	a.pending = append(a.pending, api.TaskStatus{TaskID: id, FrameworkID: fw, State: state, Reason: reason,
		UUID: fmt.Sprintf("%s-%d", a.hostname, a.seq), Timestamp: time.Now()})
}

func (a *simAgent) post(ctx context.Context, path string, body, out any) (int, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	a.mu.Lock()
	u := a.base + path
	a.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := testClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK && out != nil {
		return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode, nil
}

func (a *simAgent) register(ctx context.Context, attrs map[string]string) error {
	a.mu.Lock()
	req := agentproto.RegisterRequest{AgentID: a.id, Hostname: a.hostname, URL: a.srv.URL, Attributes: attrs, Revocable: a.pool}
	for _, id := range sortedKeys(a.tasks) {
		st := a.tasks[id]
		req.Tasks = append(req.Tasks, agentproto.TaskReport{Info: st.info, Status: api.TaskStatus{TaskID: id, FrameworkID: st.info.FrameworkID,
			State: st.state, UUID: "", Timestamp: time.Now()}})
	}
	a.mu.Unlock()
	var resp agentproto.RegisterResponse
	code, err := a.post(ctx, "/api/v1/agents/register", req, &resp)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("register: status %d", code)
	}
	a.mu.Lock()
	a.id = resp.AgentID
	a.mu.Unlock()
	return nil
}

// beat finishes due tasks and sends one heartbeat; errors are only
// recorded (it runs in a goroutine), and a master that lost the agent or
// is not leading yet is answered with a registration.
func (a *simAgent) beat(ctx context.Context, attrs map[string]string) {
	a.mu.Lock()
	if a.paused {
		a.mu.Unlock()
		return
	}
	var used resources.Resources
	for _, id := range sortedKeys(a.tasks) {
		st := a.tasks[id]
		if st.state.IsTerminal() {
			continue
		}
		if a.lifetime > 0 && !time.Now().Before(st.ends) {
			st.state = api.TaskFinished
			a.statusLocked(id, api.TaskFinished, api.ReasonExited)
			continue
		}
		used = used.Add(st.info.Resources)
	}
	hb := agentproto.Heartbeat{AgentID: a.id, Revocable: a.pool, Used: used, Updates: slices.Clone(a.pending)}
	a.mu.Unlock()
	var resp agentproto.HeartbeatResponse
	code, err := a.post(ctx, "/api/v1/agents/"+hb.AgentID+"/heartbeat", hb, &resp)
	if err != nil || ctx.Err() != nil {
		return // the master may be restarting
	}
	if code == http.StatusNotFound || code == http.StatusServiceUnavailable || resp.Reregister {
		_ = a.register(ctx, attrs)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pending = slices.DeleteFunc(a.pending, func(st api.TaskStatus) bool { return slices.Contains(resp.Acks, st.UUID) })
	for _, id := range resp.Kill {
		a.killLocked(id)
	}
}

// pause stops (true) or resumes the heartbeats.
func (a *simAgent) pause(p bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.paused = p
}

// setBase points the agent at another master.
func (a *simAgent) setBase(base string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.base = base
}

// ID is the agent id the master gave.
func (a *simAgent) ID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.id
}

// Launched lists every task the master launched here.
func (a *simAgent) Launched() []api.TaskInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.launched)
}

// Running counts the tasks running per framework.
func (a *simAgent) Running() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]int{}
	for _, st := range a.tasks {
		if !st.state.IsTerminal() {
			out[st.info.FrameworkID]++
		}
	}
	return out
}

// State returns a task's state here.
func (a *simAgent) State(id string) api.TaskState {
	a.mu.Lock()
	defer a.mu.Unlock()
	if st := a.tasks[id]; st != nil {
		return st.state
	}
	return ""
}
