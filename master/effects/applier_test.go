package effects

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/internal/testutil"
	"github.com/headroom-dev/headroom/master/core"
)

type fakeStream struct {
	sent  []string
	ended []string
}

func (s *fakeStream) Send(data []byte) { s.sent = append(s.sent, string(data)) }
func (s *fakeStream) End(msg string)   { s.ended = append(s.ended, msg) }

type nopMetrics struct{ launched, ended, refused int }

func (m *nopMetrics) TaskLaunched(string)              { m.launched++ }
func (m *nopMetrics) TaskEnded(string, string, string) { m.ended++ }
func (m *nopMetrics) AgentRegistrationRefused(string)  { m.refused++ }

// harness is an applier without a store whose feedback is collected.
type harness struct {
	a        *Applier
	metrics  *nopMetrics
	counts   map[string]uint64
	mu       sync.Mutex
	feedback []core.Event
}

func newHarness(t *testing.T, queue int) *harness {
	t.Helper()
	h := &harness{metrics: &nopMetrics{}, counts: map[string]uint64{}}
	a, err := New(Config{Guard: func() clientv3.Cmp { return clientv3.Cmp{} },
		Agent: func(url string) *agentproto.Client {
			return &agentproto.Client{URLs: []string{url}, HTTP: &http.Client{}}
		},
		Metrics: h.metrics, Count: func(c, k string, n uint64) { h.counts[c+k] += n },
		Feedback: func(ev core.Event) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.feedback = append(h.feedback, ev)
		}, Queue: queue})
	if err != nil {
		t.Fatal(err)
	}
	h.a = a
	return h
}

func (h *harness) events() []core.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]core.Event(nil), h.feedback...)
}

// TestStreams: events go to the stream they name, encoded one a line;
// an ended stream gets nothing more.
func TestStreams(t *testing.T) {
	h := newHarness(t, 0)
	s1, s2 := &fakeStream{}, &fakeStream{}
	h.a.OpenStream("s1", s1)
	h.a.OpenStream("s2", s2)
	h.a.Apply([]core.Effect{
		core.SendEvent{FrameworkID: "f", StreamID: "s1", Event: scheduler.Event{Type: scheduler.EventHeartbeat}},
		core.SendEvent{FrameworkID: "f", StreamID: "nope", Event: scheduler.Event{Type: scheduler.EventHeartbeat}},
		core.EndStream{StreamID: "s1", Message: "bye"},
		core.SendEvent{FrameworkID: "f", StreamID: "s1", Event: scheduler.Event{Type: scheduler.EventHeartbeat}},
	})
	if len(s1.sent) != 1 || s1.sent[0] != `{"type":"HEARTBEAT"}`+"\n" {
		t.Fatalf("stream s1 got %q, want one HEARTBEAT line", s1.sent)
	}
	if len(s1.ended) != 1 || s1.ended[0] != "bye" {
		t.Fatalf("stream s1 ended %q, want once with bye", s1.ended)
	}
	h.a.EndStreams("term over")
	if len(s2.ended) != 1 || s2.ended[0] != "term over" || len(s1.ended) != 1 {
		t.Fatalf("EndStreams: s1 %q, s2 %q", s1.ended, s2.ended)
	}
}

// TestMetrics: metric effects reach the observer and the counters.
func TestMetrics(t *testing.T) {
	h := newHarness(t, 0)
	h.a.Apply([]core.Effect{core.TaskLaunched{FrameworkID: "f"}, core.TaskEnded{FrameworkID: "f"},
		core.RegistrationRefused{Reason: "x"}, core.Count{Counter: core.CounterLaunchFailures, Key: "agent_refused", N: 2}})
	if h.metrics.launched != 1 || h.metrics.ended != 1 || h.metrics.refused != 1 || h.counts[core.CounterLaunchFailures+"agent_refused"] != 2 {
		t.Fatalf("metrics %+v counts %v", h.metrics, h.counts)
	}
}

// TestCallsAndFeedback: agent calls wait in the backlog while the queue
// is full, never blocking Apply; the workers run them, and a call the
// agent refuses comes back as an event.
func TestCallsAndFeedback(t *testing.T) {
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/kill") {
			http.Error(w, `{"error":"no"}`, http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(agent.Close)
	h := newHarness(t, 1)
	h.a.Apply([]core.Effect{
		core.LaunchTask{AgentID: "a1", URL: agent.URL, Info: api.TaskInfo{ID: "t1", FrameworkID: "f", Cmd: "true"}},
		core.KillTask{AgentID: "a1", URL: agent.URL, TaskID: "t2"},
		core.KillTask{AgentID: "a1", URL: agent.URL, TaskID: "t3"},
	})
	if len(h.a.backlog) != 2 {
		t.Fatalf("backlog %d, want 2 behind a queue of 1", len(h.a.backlog))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.a.Run(ctx, 2) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	testutil.Eventually(t, 10*time.Second, 10*time.Millisecond, func() bool {
		// The cycle drains the backlog under the master's lock; here the
		// test is that lock.
		h.mu.Lock()
		h.a.DrainBacklog()
		h.mu.Unlock()
		return len(h.events()) == 2
	}, "the refused kills never came back")
	for _, ev := range h.events() {
		if k, ok := ev.(core.KillUndelivered); !ok || k.AgentID != "a1" {
			t.Fatalf("feedback %#v, want kills undelivered on a1", ev)
		}
	}
}
