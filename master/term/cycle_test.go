package term

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/master/allocator"
	"github.com/headroom-dev/headroom/master/apps"
	"github.com/headroom-dev/headroom/master/core"
	"github.com/headroom-dev/headroom/master/framework"
	"github.com/headroom-dev/headroom/master/jobs"
)

// loopMaster is a leading term without a store or workers, for driving
// cycle() directly with a fake clock: the calls it queues for agents and
// the store stay in its queue, unrun.
func loopMaster(t *testing.T) (*Term, *clockwork.FakeClock) {
	t.Helper()
	return loopMasterWith(t, func(time.Time) core.Restore { return core.Restore{} })
}

// loopMasterWith is loopMaster whose term starts from what restore says
// the store held, and serves the extra built-in frameworks after the
// apps and jobs frameworks.
func loopMasterWith(t *testing.T, restore func(now time.Time) core.Restore, extra ...framework.Builtin) (*Term, *clockwork.FakeClock) {
	t.Helper()
	clock := clockwork.NewFakeClockAt(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg := Config{Self: "http://127.0.0.1:1", HeartbeatInterval: time.Second, AgentTimeout: time.Hour,
		GoneTimeout: 2 * time.Hour, AllocationInterval: time.Second, FrameworkFailoverTimeout: time.Hour,
		FrameworkHeartbeatInterval: time.Hour, StatusRetryInterval: time.Hour, StoreTimeout: time.Second,
		Guard: func() clientv3.Cmp { return clientv3.Cmp{} },
		Agent: func(url string) *agentproto.Client {
			return &agentproto.Client{URLs: []string{url}, HTTP: &http.Client{}}
		},
		Frameworks: extra, Metrics: nopObserver{}, Clock: clock, Logger: slog.New(slog.DiscardHandler)}
	alloc, err := allocator.New(allocator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	fws := []framework.Framework{apps.NewScheduler(apps.Config{FrameworkID: AppsFrameworkID}),
		jobs.NewScheduler(jobs.Config{FrameworkID: JobsFrameworkID})}
	for _, b := range extra {
		fw, err := b.New(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		fws = append(fws, fw)
	}
	for _, fw := range fws {
		if err := alloc.AddFramework(allocator.Framework{ID: fw.ID(), Revocable: true, Suppressed: true}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := newTerm(cfg)
	if err != nil {
		t.Fatal(err)
	}
	running, err := m.builtins.Started(fws...)
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.start(context.Background(), alloc, running, restore(clock.Now()), clock.Now()); err != nil {
		t.Fatal(err)
	}
	return m, clock
}

type nopObserver struct{}

func (nopObserver) ObserveAllocation(time.Duration)  {}
func (nopObserver) TaskLaunched(string)              {}
func (nopObserver) TaskEnded(string, string, string) {}
func (nopObserver) AgentRegistrationRefused(string)  {}

const gib = 1 << 30

// addLoopAgent registers an agent with only a dedicated pool.
func addLoopAgent(t *testing.T, m *Term, id string, dedicated resources.Resources) {
	t.Helper()
	if r := m.step(core.Register{Request: agentproto.RegisterRequest{AgentID: id, Hostname: "host-" + id,
		URL: "http://127.0.0.1:1", Dedicated: dedicated}}); r.Err != nil {
		t.Fatal(r.Err)
	}
}

// beat is a heartbeat of an agent added by addLoopAgent, with updates.
func beat(t *testing.T, m *Term, id string, dedicated resources.Resources, updates ...api.TaskStatus) {
	t.Helper()
	if r := m.step(core.Heartbeat{Heartbeat: agentproto.Heartbeat{AgentID: id, Dedicated: dedicated, Updates: updates}}); r.Err != nil {
		t.Fatal(r.Err)
	}
}

// appTasks returns the master's tasks of an app.
func appTaskIDs(m *Term, appID string) []string {
	var out []string
	for _, t := range m.apps.Tasks(appID) {
		out = append(out, t.ID)
	}
	return out
}

// TestDeclinedOffersGoToTheNextFramework: a job run that nothing fits
// (revocable, and the agent harvests nothing) is offered the agent's free
// dedicated half core first, since its framework holds less than the apps
// framework; its decline goes on to the apps framework in the same cycle,
// whose waiting app takes it.
func TestDeclinedOffersGoToTheNextFramework(t *testing.T) {
	m, clock := loopMaster(t)
	pool := resources.Resources{CPUs: 1, MemBytes: 4 * gib}
	addLoopAgent(t, m, "a1", pool)
	tick := func() {
		clock.Advance(time.Second)
		beat(t, m, "a1", pool)
		m.cycle()
	}

	app := func(id string) apps.App {
		a := apps.NewApp(id)
		a.Cmd, a.CPUs, a.Mem, a.Revocable = "sleep 1000", 0.5, 64, false
		return a
	}
	if _, err := m.apps.CreateApp(app("first"), clock.Now()); err != nil {
		t.Fatal(err)
	}
	tick()
	first := appTaskIDs(m, "first")
	if len(first) != 1 {
		t.Fatalf("first app: tasks %v, want 1", first)
	}
	beat(t, m, "a1", pool, api.TaskStatus{TaskID: first[0], FrameworkID: AppsFrameworkID, AgentID: "a1",
		State: api.TaskRunning, Timestamp: clock.Now()})

	// The starving run: revocable, on an agent with no harvest.
	job := jobs.NewJob("report")
	job.Run.Cmd, job.Run.CPUs, job.Run.Mem = "true", 0.25, 64
	rec, err := m.jobs.Plan(job, true, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.jobs.Apply(rec, clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := m.jobs.StartRun("report", clock.Now()); err != nil {
		t.Fatal(err)
	}
	tick() // the jobs framework wants offers from here on
	if _, err := m.apps.CreateApp(app("second"), clock.Now()); err != nil {
		t.Fatal(err)
	}
	declined := m.stats.offersDeclined
	tick()
	if got := appTaskIDs(m, "second"); len(got) != 1 {
		t.Fatalf("second app: tasks %v after one cycle, want 1 (declines %d)", got, m.stats.offersDeclined-declined)
	}
	if m.stats.offersDeclined == declined {
		t.Fatalf("no offer declined: the jobs framework was not offered the half core first, the test proves nothing")
	}
}

// TestRecoveryReason: while a new leader waits for its known agents, an
// app short of instances says so, with the bound.
func TestRecoveryReason(t *testing.T) {
	m, clock := loopMasterWith(t, func(now time.Time) core.Restore {
		return core.Restore{Agents: []core.AgentRecord{{ID: "old", Hostname: "h-old"}}, RecoverUntil: now.Add(15 * time.Second)}
	})
	a := apps.NewApp("web")
	a.Cmd = "sleep 1000"
	if _, err := m.apps.CreateApp(a, clock.Now()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	m.cycle()
	st, _ := m.apps.App("web")
	want := "waiting for the known agents to re-register after a master failover (at most until 2030-01-01T00:00:15Z)"
	if st.Reason != want {
		t.Fatalf("reason %q, want %q", st.Reason, want)
	}
}

// goneRecorder records the agents a term says are gone.
type goneRecorder struct{ gone []string }

func (*goneRecorder) AgentHeartbeat(string, agentproto.Heartbeat, time.Time) {}
func (r *goneRecorder) AgentGone(id string)                                  { r.gone = append(r.gone, id) }

// An agent the core forgets is told to the observer of heartbeats (the
// master's history, which then forgets it), and only that one.
func TestForgetGoneTellsTheObserver(t *testing.T) {
	rec := &goneRecorder{}
	m := &Term{cfg: Config{Heartbeats: rec}}
	m.forgetGone([]core.Effect{core.PersistAgent{}, core.DeleteAgent{ID: "a"}})
	if len(rec.gone) != 1 || rec.gone[0] != "a" {
		t.Fatalf("gone %v, want [a]", rec.gone)
	}
}
