package master

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// testFramework is a framework driven by a test: it subscribes through
// the Go client and records every event it receives.
type testFramework struct {
	t    *testing.T
	sess *scheduler.Session

	mu     sync.Mutex
	events []scheduler.Event
	err    error
	done   chan struct{}
}

func schedClient(t *testing.T, base string) *scheduler.Client {
	t.Helper()
	c, err := agentproto.NewClient(base, "")
	if err != nil {
		t.Fatal(err)
	}
	return scheduler.NewClient(c)
}

// subscribeFramework subscribes and records events until the stream ends
// or the test does.
func subscribeFramework(t *testing.T, base string, info scheduler.FrameworkInfo) *testFramework {
	t.Helper()
	// The context bounds the subscription's whole life, not just the
	// handshake: the session closes it.
	sess, err := schedClient(t, base).Subscribe(context.Background(), info)
	if err != nil {
		t.Fatalf("subscribe %s: %v", info.Name, err)
	}
	f := &testFramework{t: t, sess: sess, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for {
			ev, err := sess.Recv()
			f.mu.Lock()
			if err != nil {
				f.err = err
				if ev.Type != "" {
					f.events = append(f.events, ev)
				}
				f.mu.Unlock()
				return
			}
			f.events = append(f.events, ev)
			f.mu.Unlock()
		}
	}()
	t.Cleanup(f.close)
	return f
}

func (f *testFramework) close() {
	f.sess.Close()
	<-f.done
}

// waitEvent waits for an event matching pred among those received after
// the first skip events, and returns it with its index.
func (f *testFramework) waitEvent(desc string, timeout time.Duration, pred func(scheduler.Event) bool) (scheduler.Event, int) {
	f.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		f.mu.Lock()
		for i, ev := range f.events {
			if pred(ev) {
				f.mu.Unlock()
				return ev, i
			}
		}
		err := f.err
		f.mu.Unlock()
		if err != nil && !strings.Contains(desc, "ERROR") {
			f.t.Fatalf("waiting for %s: the stream ended: %v", desc, err)
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("no %s within %s", desc, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// take removes and returns the events received so far.
func (f *testFramework) take() []scheduler.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.events
	f.events = nil
	return out
}

func (f *testFramework) nextOffer(timeout time.Duration) scheduler.Offer {
	f.t.Helper()
	ev, _ := f.waitEvent("an OFFERS event", timeout, func(ev scheduler.Event) bool {
		return ev.Type == scheduler.EventOffers && len(ev.Offers.Offers) > 0
	})
	f.take()
	return ev.Offers.Offers[0]
}

// updateOf waits for an update of the task in the given state.
func (f *testFramework) updateOf(taskID, state string, timeout time.Duration) scheduler.TaskStatus {
	f.t.Helper()
	ev, _ := f.waitEvent("update "+taskID+" "+state, timeout, func(ev scheduler.Event) bool {
		return ev.Type == scheduler.EventUpdate && ev.Update.Status.TaskID.Value == taskID && ev.Update.Status.State == state
	})
	return ev.Update.Status
}

func shellTask(id string, cpus, memMB float64, revocable bool) scheduler.TaskInfo {
	res := scheduler.Scalars(resources.Resources{CPUs: cpus, MemBytes: int64(memMB) << 20}, revocable)
	return scheduler.TaskInfo{Name: id, TaskID: scheduler.ID{Value: id}, Resources: res,
		Command: &scheduler.CommandInfo{Value: "sleep 100"}}
}

func postCall(t *testing.T, base string, streamID string, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+scheduler.Path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if streamID != "" {
		req.Header.Set(scheduler.StreamIDHeader, streamID)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestSchedulerAPI walks one framework through the protocol: subscribe,
// offers with the revocable marker and attributes, launch, updates
// re-sent until acknowledged, kill, reconcile, decline with a filter,
// suppress and revive, teardown.
func TestSchedulerAPI(t *testing.T) {
	tm := startLeader(t)
	base := tm.url
	pool := resources.Resources{CPUs: 4, MemBytes: 8 * gib}
	ag := startSimAgent(t, base, "h1", pool, map[string]string{"rack": "r1"}, 0, 100*time.Millisecond)

	f := subscribeFramework(t, base, scheduler.FrameworkInfo{Name: "proto test", Roles: []string{"batch"},
		Capabilities: []scheduler.Capability{{Type: scheduler.CapabilityRevocable}}})
	if f.sess.StreamID == "" || !strings.HasPrefix(f.sess.FrameworkID, "proto-test-") {
		t.Fatalf("subscription: stream %q framework %q", f.sess.StreamID, f.sess.FrameworkID)
	}
	if f.sess.HeartbeatInterval != 300*time.Millisecond {
		t.Errorf("heartbeat interval %v, want the master's 300ms", f.sess.HeartbeatInterval)
	}
	ctx := context.Background()

	// An offer of the whole revocable pool, flagged, with the attributes.
	o := f.nextOffer(5 * time.Second)
	dedicated, revocable, err := scheduler.Sum(o.Resources)
	if err != nil || !dedicated.IsZero() || revocable != pool {
		t.Fatalf("offer resources %+v: dedicated %v revocable %v err %v, want the revocable pool %v", o.Resources, dedicated, revocable, err, pool)
	}
	if v, ok := o.Attribute("rack"); !ok || v != "r1" || o.AgentID.Value != ag.ID() || o.Hostname != "h1" {
		t.Errorf("offer %+v: want agent %s, hostname h1, rack r1", o, ag.ID())
	}

	// Two tasks launched; the rest goes back with a 1 h filter.
	tasks := []scheduler.TaskInfo{shellTask("t1", 1, 512, true), shellTask("t2", 1, 512, true)}
	if err := f.sess.Accept(ctx, []string{o.ID.Value}, tasks, scheduler.RefuseSeconds(3600)); err != nil {
		t.Fatalf("accept: %v", err)
	}
	st := f.updateOf("t1", scheduler.TaskRunning, 5*time.Second)
	if st.UUID == "" || st.AgentID == nil || st.AgentID.Value != ag.ID() || st.Source != scheduler.SourceAgent {
		t.Errorf("update %+v: want a uuid, the agent id and the agent as source", st)
	}
	f.updateOf("t2", scheduler.TaskRunning, 5*time.Second)
	if got := len(ag.Launched()); got != 2 {
		t.Fatalf("the agent got %d launches, want 2", got)
	}
	if l := ag.Launched()[0]; l.FrameworkID != f.sess.FrameworkID || !l.Revocable || l.Cmd != "sleep 100" {
		t.Errorf("launched %+v", l)
	}

	// Unacknowledged updates come again; acknowledged ones do not.
	if err := f.sess.Acknowledge(ctx, st); err != nil {
		t.Fatalf("acknowledge: %v", err)
	}
	f.take()
	time.Sleep(1200 * time.Millisecond) // three retry intervals
	var t1, t2 int
	for _, ev := range f.take() {
		switch {
		case ev.Type == scheduler.EventUpdate && ev.Update.Status.TaskID.Value == "t1":
			t1++
		case ev.Type == scheduler.EventUpdate && ev.Update.Status.TaskID.Value == "t2":
			t2++
		case ev.Type == scheduler.EventOffers:
			for _, off := range ev.Offers.Offers {
				if off.AgentID.Value == ag.ID() {
					t.Errorf("offered agent %s inside the 1 h filter: %+v", ag.ID(), off)
				}
			}
		}
	}
	if t1 != 0 || t2 < 2 {
		t.Errorf("re-sent updates: t1 (acknowledged) %d times, t2 (not) %d times; want 0 and >= 2", t1, t2)
	}

	// Reconcile: explicit (a known and an unknown task) and implicit.
	if err := f.sess.Reconcile(ctx, "t1", "nope"); err != nil {
		t.Fatal(err)
	}
	if st := f.updateOf("nope", scheduler.TaskUnknown, 5*time.Second); st.UUID != "" || st.Reason != "REASON_RECONCILIATION" {
		t.Errorf("reconcile of an unknown task: %+v", st)
	}
	if st := f.updateOf("t1", scheduler.TaskRunning, 5*time.Second); st.UUID != "" {
		t.Errorf("a reconciliation answer carries uuid %q; it needs no acknowledgement", st.UUID)
	}
	f.take()
	if err := f.sess.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() bool {
		for _, ev := range f.take() {
			if ev.Type == scheduler.EventUpdate && ev.Update.Status.UUID == "" {
				seen[ev.Update.Status.TaskID.Value] = true
			}
		}
		return seen["t1"] && seen["t2"]
	}, "no implicit reconciliation of t1 and t2")

	// Kill.
	if err := f.sess.Kill(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	f.updateOf("t1", scheduler.TaskKilled, 5*time.Second)
	if ag.State("t1") != api.TaskKilled {
		t.Errorf("t1 is %s on the agent, want killed", ag.State("t1"))
	}

	// Revive clears the filter: the agent is offered again; suppress
	// stops the offers.
	if err := f.sess.Revive(ctx); err != nil {
		t.Fatal(err)
	}
	if o := f.nextOffer(5 * time.Second); o.AgentID.Value != ag.ID() {
		t.Errorf("offer after revive of agent %s", o.AgentID.Value)
	} else if err := f.sess.Decline(ctx, []string{o.ID.Value}, scheduler.RefuseSeconds(0)); err != nil {
		t.Fatal(err)
	}
	if err := f.sess.Suppress(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	f.take()
	time.Sleep(500 * time.Millisecond)
	for _, ev := range f.take() {
		if ev.Type == scheduler.EventOffers {
			t.Errorf("offers while suppressed: %+v", ev.Offers)
		}
	}

	// Teardown kills the tasks and ends the stream; the id is gone.
	if err := f.sess.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() bool { return ag.State("t2") == api.TaskKilled },
		"teardown did not kill t2")
	f.waitEvent("the stream's ERROR", 5*time.Second, func(ev scheduler.Event) bool { return ev.Type == scheduler.EventError })
	var list []FrameworkView
	getJSON(t, base+"/api/v1/frameworks", &list)
	if len(list) != 0 {
		t.Errorf("frameworks after teardown: %+v", list)
	}
	_, err = schedClient(t, base).Subscribe(ctx, scheduler.FrameworkInfo{Name: "again", ID: scheduler.NewID(f.sess.FrameworkID)})
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("re-subscribing a torn down framework: %v, want 403", err)
	}
}

// TestSchedulerAPIBadInputs: calls without or with a wrong stream id,
// malformed and invalid calls, an ACCEPT of an unknown or rescinded offer,
// and a launch over the offered resources each get a clear answer, and
// nothing launches.
func TestSchedulerAPIBadInputs(t *testing.T) {
	tm := startLeader(t)
	base := tm.url
	pool := resources.Resources{CPUs: 2, MemBytes: 2 * gib}
	ag := startSimAgent(t, base, "h1", pool, nil, 0, 100*time.Millisecond)
	f := subscribeFramework(t, base, scheduler.FrameworkInfo{Name: "bad", Capabilities: []scheduler.Capability{{Type: scheduler.CapabilityRevocable}}})
	fid := f.sess.FrameworkID

	for _, tc := range []struct {
		name, stream, body string
		code               int
		want               string
	}{
		{"no stream id", "", `{"type":"REVIVE","framework_id":{"value":"` + fid + `"}}`, 400, scheduler.StreamIDHeader},
		{"wrong stream id", "0123", `{"type":"REVIVE","framework_id":{"value":"` + fid + `"}}`, 403, "stream"},
		{"unknown framework", f.sess.StreamID, `{"type":"REVIVE","framework_id":{"value":"nobody"}}`, 403, "not subscribed"},
		{"malformed JSON", f.sess.StreamID, `{"type":`, 400, "malformed"},
		{"wrong type", f.sess.StreamID, `{"type":"REVIVE","framework_id":{"value":7}}`, 400, "framework_id.value"},
		{"unknown call", f.sess.StreamID, `{"type":"LAUNCH_GROUP","framework_id":{"value":"` + fid + `"}}`, 400, "type"},
		{"no framework id", f.sess.StreamID, `{"type":"REVIVE"}`, 400, "framework_id"},
		{"member of another call", f.sess.StreamID, `{"type":"REVIVE","framework_id":{"value":"` + fid + `"},"kill":{"task_id":{"value":"x"}}}`, 400, "kill"},
		{"negative refuse", f.sess.StreamID, `{"type":"DECLINE","framework_id":{"value":"` + fid + `"},"decline":{"offer_ids":[],"filters":{"refuse_seconds":-1}}}`, 400, "refuse_seconds"},
		{"accept without offers", f.sess.StreamID, `{"type":"ACCEPT","framework_id":{"value":"` + fid + `"},"accept":{"offer_ids":[]}}`, 400, "offer_ids"},
		{"unsupported operation", f.sess.StreamID, `{"type":"ACCEPT","framework_id":{"value":"` + fid + `"},"accept":{"offer_ids":[{"value":"x"}],"operations":[{"type":"RESERVE"}]}}`, 400, "LAUNCH"},
		{"ack without uuid", f.sess.StreamID, `{"type":"ACKNOWLEDGE","framework_id":{"value":"` + fid + `"},"acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":""}}`, 400, "uuid"},
		{"subscribe without name", "", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":""}}}`, 400, "name"},
		{"subscribe two roles", "", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"x","roles":["a","b"]}}}`, 400, "roles"},
		{"subscribe bad id", "", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"x","id":{"value":"../etc"}}}}`, 400, "id.value"},
		{"subscribe unknown capability", "", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"x","capabilities":[{"type":"TELEPATHY"}]}}}`, 400, "capabilities[0]"},
		{"subscribe huge failover", "", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"x","failover_timeout":1e300}}}`, 400, "failover_timeout"},
	} {
		code, body := postCall(t, base, tc.stream, tc.body)
		if code != tc.code || !strings.Contains(string(body), tc.want) {
			t.Errorf("%s: %d %s, want %d naming %q", tc.name, code, body, tc.code, tc.want)
		} else {
			checkErrorBody(t, body, "")
		}
	}

	// Fields headroom does not know, and nulls, are left out as Mesos
	// leaves them: the call is taken.
	if code, body := postCall(t, base, f.sess.StreamID, `{"type":"REVIVE","framework_id":{"value":"`+fid+`"},"bogus":1,"revive":null}`); code != http.StatusAccepted {
		t.Errorf("a call with an unknown field: %d %s, want 202", code, body)
	}

	ctx := context.Background()
	o := f.nextOffer(5 * time.Second)

	// An unknown offer: the tasks are reported lost with the reason.
	if err := f.sess.Accept(ctx, []string{"no-such-offer"}, []scheduler.TaskInfo{shellTask("lost1", 0.5, 128, true)}, nil); err != nil {
		t.Fatalf("accept of an unknown offer: %v, want 202", err)
	}
	if st := f.updateOf("lost1", scheduler.TaskLost, 5*time.Second); st.Reason != "REASON_INVALID_OFFERS" || !strings.Contains(st.Message, "no-such-offer") {
		t.Errorf("lost update %+v: want the reason and the offer named", st)
	}

	// Over the offer: the task that does not fit is refused, the one
	// that does launches; a revocable task on a dedicated-only framework
	// and a task with both kinds are refused.
	tasks := []scheduler.TaskInfo{shellTask("fits", 1.5, 1024, true), shellTask("toobig", 1, 512, true), shellTask("bad id/..", 0.1, 16, true)}
	if err := f.sess.Accept(ctx, []string{o.ID.Value}, tasks, nil); err != nil {
		t.Fatalf("accept: %v", err)
	}
	if st := f.updateOf("toobig", scheduler.TaskError, 5*time.Second); !strings.Contains(st.Message, "more than the offers hold") || st.Reason != "REASON_TASK_INVALID" {
		t.Errorf("over-offer update %+v", st)
	}
	if st := f.updateOf("bad id/..", scheduler.TaskError, 5*time.Second); !strings.Contains(st.Message, "id") {
		t.Errorf("invalid id update %+v", st)
	}
	f.updateOf("fits", scheduler.TaskRunning, 5*time.Second)

	// The accepted offer is spent: accepting it again launches nothing.
	if err := f.sess.Accept(ctx, []string{o.ID.Value}, []scheduler.TaskInfo{shellTask("late", 0.1, 16, true)}, nil); err != nil {
		t.Fatal(err)
	}
	f.updateOf("late", scheduler.TaskLost, 5*time.Second)
	var names []string
	for _, l := range ag.Launched() {
		names = append(names, l.ID)
	}
	if !slices.Equal(names, []string{"fits"}) {
		t.Errorf("launched %v, want only [fits]", names)
	}
}

// TestFrameworkFailover: a framework that re-subscribes within its
// failover timeout keeps its tasks and gets its unacknowledged updates
// again; one that does not is removed and its tasks killed.
func TestFrameworkFailover(t *testing.T) {
	tm := startLeader(t)
	base := tm.url
	ag := startSimAgent(t, base, "h1", resources.Resources{CPUs: 2, MemBytes: 2 * gib}, nil, 0, 100*time.Millisecond)
	info := scheduler.FrameworkInfo{Name: "fo", FailoverTimeout: 2, Capabilities: []scheduler.Capability{{Type: scheduler.CapabilityRevocable}}}
	f := subscribeFramework(t, base, info)
	ctx := context.Background()
	o := f.nextOffer(5 * time.Second)
	if err := f.sess.Accept(ctx, []string{o.ID.Value}, []scheduler.TaskInfo{shellTask("keep", 0.5, 128, true)}, nil); err != nil {
		t.Fatal(err)
	}
	f.updateOf("keep", scheduler.TaskRunning, 5*time.Second)
	f.close()

	info.ID = scheduler.NewID(f.sess.FrameworkID)
	time.Sleep(time.Second)
	g := subscribeFramework(t, base, info)
	if g.sess.FrameworkID != f.sess.FrameworkID {
		t.Fatalf("re-subscription got id %s, want %s", g.sess.FrameworkID, f.sess.FrameworkID)
	}
	g.updateOf("keep", scheduler.TaskRunning, 5*time.Second) // never acknowledged: sent again
	if ag.State("keep") != api.TaskRunning {
		t.Fatalf("task state %s after a re-subscription within the timeout", ag.State("keep"))
	}
	// The old stream's calls are refused now.
	if code, body := postCall(t, base, f.sess.StreamID, `{"type":"REVIVE","framework_id":{"value":"`+f.sess.FrameworkID+`"}}`); code != http.StatusForbidden {
		t.Errorf("call on the old stream: %d %s, want 403", code, body)
	}

	g.close()
	testutil.Eventually(t, 10*time.Second, 50*time.Millisecond, func() bool { return ag.State("keep") == api.TaskKilled },
		"the task outlived its framework's failover timeout")
	var list []FrameworkView
	getJSON(t, base+"/api/v1/frameworks", &list)
	if len(list) != 0 {
		t.Errorf("frameworks after the failover timeout: %+v", list)
	}
}

// TestTwoFrameworksConvergeToEqualShares: two frameworks of equal weight,
// each taking all it is offered, share one agent's harvested pool. Their
// tasks end after a while, and DRF gives what frees to the one with the
// lower dominant share, so from a start where one holds everything they
// converge to equal shares, within one task.
func TestTwoFrameworksConvergeToEqualShares(t *testing.T) {
	tm := startLeader(t)
	base := tm.url
	pool := resources.Resources{CPUs: 8, MemBytes: 16 * gib}
	ag := startSimAgent(t, base, "h1", pool, nil, 600*time.Millisecond, 50*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	rev := []scheduler.Capability{{Type: scheduler.CapabilityRevocable}}
	var fws []*testFramework
	for _, name := range []string{"greedy-a", "greedy-b"} {
		f := subscribeFramework(t, base, scheduler.FrameworkInfo{Name: name, Capabilities: rev})
		fws = append(fws, f)
		wg.Add(1)
		go func() {
			defer wg.Done()
			greedy(ctx, f, 1, 1024)
		}()
	}
	// A task is 1 of 8 cores and 1 of 16 GiB: its dominant share is
	// 1/8, so "within one task" is a difference of at most one task.
	// The first framework to get an offer takes the whole agent; after
	// a few task lifetimes, the time-averaged counts must be equal.
	var history []string
	var sumA, sumB, n int
	for i := 0; i < 80; i++ {
		time.Sleep(100 * time.Millisecond)
		run := ag.Running()
		a, b := run[fws[0].sess.FrameworkID], run[fws[1].sess.FrameworkID]
		history = append(history, fmt.Sprintf("%d/%d", a, b))
		if i >= 40 {
			sumA, sumB, n = sumA+a, sumB+b, n+1
		}
	}
	avgA, avgB := float64(sumA)/float64(n), float64(sumB)/float64(n)
	t.Logf("running tasks per framework every 100 ms: %v; over the last 4 s: %.2f and %.2f", history, avgA, avgB)
	if math.Abs(avgA-avgB) > 1 || avgA+avgB < 6 {
		t.Errorf("average running tasks %.2f and %.2f: want equal within one task, and the pool (8) mostly used", avgA, avgB)
	}
}

// greedy launches as many tasks of the size as each offer holds and
// acknowledges every update.
func greedy(ctx context.Context, f *testFramework, cpus, memMB float64) {
	seen := 0
	n := 0
	for ctx.Err() == nil {
		f.mu.Lock()
		events := slices.Clone(f.events[seen:])
		seen = len(f.events)
		f.mu.Unlock()
		for _, ev := range events {
			switch ev.Type {
			case scheduler.EventOffers:
				for _, o := range ev.Offers.Offers {
					_, rev, _ := scheduler.Sum(o.Resources)
					var tasks []scheduler.TaskInfo
					for rev.CPUs >= cpus && rev.MemBytes >= int64(memMB)<<20 {
						n++
						tasks = append(tasks, shellTask(fmt.Sprintf("%s-%d", f.sess.FrameworkID, n), cpus, memMB, true))
						rev.CPUs -= cpus
						rev.MemBytes -= int64(memMB) << 20
					}
					_ = f.sess.Accept(ctx, []string{o.ID.Value}, tasks, scheduler.RefuseSeconds(0))
				}
			case scheduler.EventUpdate:
				_ = f.sess.Acknowledge(ctx, ev.Update.Status)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestFrameworkSeesPartitionStates: a framework's task on an agent that
// goes silent is reported TASK_UNREACHABLE, TASK_RUNNING again when the
// agent comes back, and TASK_GONE when a silent agent is forgotten.
func TestFrameworkSeesPartitionStates(t *testing.T) {
	tm := startMaster(t, openEmbeddedStore(t), func(c *Config) { c.GoneTimeout = 4 * time.Second })
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, tm.m.Leading, "the master never became leader")
	base := tm.url
	pool := resources.Resources{CPUs: 2, MemBytes: 2 * gib}
	ag := startSimAgent(t, base, "h1", pool, nil, 0, 100*time.Millisecond)
	f := subscribeFramework(t, base, scheduler.FrameworkInfo{Name: "partition", Capabilities: []scheduler.Capability{
		{Type: scheduler.CapabilityRevocable}, {Type: scheduler.CapabilityPartitionAware}}})
	ctx := context.Background()
	o := f.nextOffer(5 * time.Second)
	if err := f.sess.Accept(ctx, []string{o.ID.Value}, []scheduler.TaskInfo{shellTask("p1", 0.5, 128, true)}, nil); err != nil {
		t.Fatal(err)
	}
	f.updateOf("p1", scheduler.TaskRunning, 5*time.Second)
	f.take()

	ag.pause(true)
	if st := f.updateOf("p1", scheduler.TaskUnreachable, 10*time.Second); st.Reason != "REASON_AGENT_REMOVED" || headroomReason(st) != api.ReasonAgentUnreachable || st.Source != scheduler.SourceMaster {
		t.Errorf("unreachable update %+v", st)
	}
	f.take()
	ag.pause(false) // the agent is asked to re-register and reports the task
	f.updateOf("p1", scheduler.TaskRunning, 10*time.Second)
	f.take()

	ag.pause(true)
	f.updateOf("p1", scheduler.TaskUnreachable, 10*time.Second)
	if st := f.updateOf("p1", scheduler.TaskGone, 15*time.Second); st.Reason != "REASON_AGENT_REMOVED" || headroomReason(st) != api.ReasonAgentGone {
		t.Errorf("gone update %+v", st)
	}
}

// TestFrameworkWithoutRevocableCapability: a framework that does not
// declare REVOCABLE_RESOURCES is offered the dedicated pool only, and a
// task asking for revocable resources is refused.
func TestFrameworkWithoutRevocableCapability(t *testing.T) {
	tm := startLeader(t)
	base := tm.url
	harvest := resources.Resources{CPUs: 4, MemBytes: 4 * gib}
	ag := startSimAgent(t, base, "h1", harvest, nil, 0, 100*time.Millisecond)
	f := subscribeFramework(t, base, scheduler.FrameworkInfo{Name: "steady"})
	time.Sleep(500 * time.Millisecond) // ten allocation cycles
	for _, ev := range f.take() {
		if ev.Type == scheduler.EventOffers {
			t.Fatalf("offers of a revocable-only agent to a framework that refuses revocable resources: %+v", ev.Offers)
		}
	}

	// An agent with a dedicated pool: only that part is offered.
	dedicated := resources.Resources{CPUs: 1, MemBytes: gib}
	fa := startFakeAgent(t)
	id := register(t, base, agentproto.RegisterRequest{Hostname: "h2", URL: fa.srv.URL, Revocable: harvest, Dedicated: dedicated}).AgentID
	startAgentLoop(t, base, agentproto.Heartbeat{AgentID: id, Revocable: harvest, Dedicated: dedicated}, 100*time.Millisecond)
	o := f.nextOffer(5 * time.Second)
	ded, rev, err := scheduler.Sum(o.Resources)
	if err != nil || o.AgentID.Value != id || ded != dedicated || !rev.IsZero() {
		t.Fatalf("offer %+v: dedicated %v revocable %v (%v), want only agent %s's dedicated %v", o, ded, rev, err, id, dedicated)
	}
	ctx := context.Background()
	if err := f.sess.Accept(ctx, []string{o.ID.Value}, []scheduler.TaskInfo{shellTask("wants-rev", 0.5, 128, true)}, nil); err != nil {
		t.Fatal(err)
	}
	if st := f.updateOf("wants-rev", scheduler.TaskError, 5*time.Second); !strings.Contains(st.Message, scheduler.CapabilityRevocable) {
		t.Errorf("update %+v: want the missing capability named", st)
	}
	if len(ag.Launched())+len(fa.Launches()) != 0 {
		t.Errorf("launched %v %v", ag.Launched(), fa.Launches())
	}
}

// TestSubscribeThroughStandby: a framework given only a standby's URL is
// redirected to the leader, subscribes there, and its calls go to the
// leader too.
func TestSubscribeThroughStandby(t *testing.T) {
	leader := startLeader(t)
	standby := startStandby(t, leader)
	startSimAgent(t, leader.url, "h1", resources.Resources{CPUs: 2, MemBytes: 2 * gib}, nil, 0, 100*time.Millisecond)

	f := subscribeFramework(t, standby.url, scheduler.FrameworkInfo{Name: "via-standby",
		Capabilities: []scheduler.Capability{{Type: scheduler.CapabilityRevocable}}})
	if f.sess.Leader() != leader.url {
		t.Fatalf("subscribed at %s, want the leader %s", f.sess.Leader(), leader.url)
	}
	o := f.nextOffer(5 * time.Second)
	if err := f.sess.Accept(context.Background(), []string{o.ID.Value}, []scheduler.TaskInfo{shellTask("s1", 0.5, 64, true)}, nil); err != nil {
		t.Fatalf("accept through the subscription's leader: %v", err)
	}
	f.updateOf("s1", scheduler.TaskRunning, 5*time.Second)
}

// headroomReason is headroom's own reason of an update, beside the Mesos
// enum in reason.
func headroomReason(st scheduler.TaskStatus) string {
	if st.Labels != nil {
		for _, l := range st.Labels.Labels {
			if l.Key == scheduler.ReasonLabel {
				return l.Value
			}
		}
	}
	return ""
}
