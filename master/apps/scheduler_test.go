package apps

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/master/framework"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

func testApp(id string, instances int, mods ...func(*App)) App {
	a := NewApp(id)
	a.Cmd = "sleep 1000"
	a.CPUs, a.Mem = 1, 256
	a.Instances = instances
	for _, m := range mods {
		m(&a)
	}
	return a
}

var big = resources.Resources{CPUs: 16, MemBytes: 64 << 30, Disk: 100 << 30}

func offerOn(id, host string, kv ...string) framework.Offer {
	o := framework.Offer{ID: id, AgentID: "agent-" + host, Hostname: host, Attributes: map[string]string{},
		Revocable: big, Dedicated: big}
	for i := 0; i+1 < len(kv); i += 2 {
		o.Attributes[kv[i]] = kv[i+1]
	}
	return o
}

func mustCreate(t *testing.T, s *Scheduler, a App, now time.Time) Deployment {
	t.Helper()
	d, err := s.CreateApp(a, now)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func status(id string, state api.TaskState) api.TaskStatus {
	return api.TaskStatus{TaskID: id, State: state}
}

func update(s *Scheduler, id string, state api.TaskState, now time.Time) []string {
	return s.Update(status(id, state), "", nil, now)
}

func launchIDs(ls []framework.Launch) []string {
	var ids []string
	for _, l := range ls {
		ids = append(ids, l.Task.ID)
	}
	return ids
}

func runAll(t *testing.T, s *Scheduler, ls []framework.Launch, now time.Time) {
	t.Helper()
	for _, l := range ls {
		if k := update(s, l.Task.ID, api.TaskRunning, now); len(k) != 0 {
			t.Fatalf("running %s returned kills %v", l.Task.ID, k)
		}
	}
}

func appStatus(t *testing.T, s *Scheduler, id string) AppStatus {
	t.Helper()
	as, ok := s.App(id)
	if !ok {
		t.Fatalf("app %s missing", id)
	}
	return as
}

func TestLaunchTaskInfo(t *testing.T) {
	s := NewScheduler(Config{})
	a := testApp("/g/web", 1, func(a *App) {
		a.Env = map[string]string{"A": "1"}
		a.Labels = map[string]string{"team": "x"}
		a.Fetch = []framework.Fetch{{URI: "https://h/a.tgz", Extract: true, DestPath: "a.tgz"}}
		a.Disk = 10
	})
	mustCreate(t, s, a, at(0))
	ls, dec := s.Offers([]framework.Offer{offerOn("o1", "h1")}, at(1))
	if len(ls) != 1 || len(dec) != 0 {
		t.Fatalf("launches %v decline %v", ls, dec)
	}
	l := ls[0]
	ti := l.Task
	if ti.ID != "g_web.1" || ti.Name != "g/web" || ti.FrameworkID != DefaultFrameworkID || l.OfferID != "o1" || !l.Revocable || !ti.Revocable {
		t.Fatalf("bad launch %+v", l)
	}
	if err := ti.Validate(); err != nil {
		t.Fatal(err)
	}
	v := appStatus(t, s, "g/web").App.Version
	wantEnv := map[string]string{"A": "1", "HEADROOM_APP_ID": "g/web", "MARATHON_APP_ID": "/g/web", "HEADROOM_APP_VERSION": v}
	if !reflect.DeepEqual(ti.Env, wantEnv) {
		t.Fatalf("env %v", ti.Env)
	}
	if ti.Labels["app"] != "g/web" || ti.Labels["team"] != "x" {
		t.Fatalf("labels %v", ti.Labels)
	}
	if ti.Resources != (resources.Resources{CPUs: 1, MemBytes: 256 << 20, Disk: 10 << 20}) {
		t.Fatalf("resources %v", ti.Resources)
	}
	if len(ti.Fetch) != 1 || ti.Fetch[0] != (api.FetchURI{URI: "https://h/a.tgz", Extract: true, OutputFile: "a.tgz"}) {
		t.Fatalf("fetch %v", ti.Fetch)
	}
	if _, err := time.Parse(time.RFC3339, v); err != nil {
		t.Fatalf("version %q: %v", v, err)
	}
	tasks := s.Tasks("g/web")
	if len(tasks) != 1 || tasks[0].State != api.TaskStaging || tasks[0].Hostname != "h1" {
		t.Fatalf("tasks %+v", tasks)
	}
}

func TestCRUDErrors(t *testing.T) {
	s := NewScheduler(Config{})
	mustCreate(t, s, testApp("web", 1), at(0))
	if _, err := s.CreateApp(testApp("/web", 1), at(1)); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := s.UpdateApp(testApp("nope", 1), at(1)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}
	if _, err := s.Scale("nope", 1, at(1)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("scale unknown: %v", err)
	}
	if _, err := s.DeleteApp("nope", at(1)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete unknown: %v", err)
	}
	var ve *ValidationError
	if _, err := s.CreateApp(testApp("bad", 1, func(a *App) { a.CPUs = 0 }), at(1)); !errors.As(err, &ve) || ve.Details[0].Path != "/cpus" {
		t.Fatalf("invalid: %v", err)
	}
	if _, err := s.Scale("web", -1, at(1)); !errors.As(err, &ve) {
		t.Fatalf("scale -1: %v", err)
	}
	v1 := appStatus(t, s, "web").App.Version
	d, err := s.UpdateApp(testApp("web", 3), at(2))
	if err != nil || d.Kind != KindScale || appStatus(t, s, "web").App.Version != v1 {
		t.Fatalf("instances-only update: %+v %v", d, err)
	}
	d, err = s.UpdateApp(testApp("web", 3, func(a *App) { a.Cmd = "other" }), at(2))
	if err != nil || d.Kind != KindUpdate || appStatus(t, s, "web").App.Version == v1 {
		t.Fatalf("definition update: %+v %v", d, err)
	}
}

func TestUniqueHostname(t *testing.T) {
	s := NewScheduler(Config{})
	mustCreate(t, s, testApp("web", 3, func(a *App) { a.Constraints = [][]string{{"hostname", "UNIQUE"}} }), at(0))
	hosts := map[string]string{}
	for round := 0; round < 5; round++ {
		now := at(float64(round + 1))
		ls, dec := s.Offers([]framework.Offer{offerOn(fmt.Sprint("a", round), "h1"), offerOn(fmt.Sprint("b", round), "h2")}, now)
		for _, l := range ls {
			if other, dup := hosts[l.Hostname]; dup {
				t.Fatalf("round %d: %s launched on %s which already runs %s", round, l.Task.ID, l.Hostname, other)
			}
			hosts[l.Hostname] = l.Task.ID
		}
		if round == 0 && (len(ls) != 2 || len(dec) != 0) {
			t.Fatalf("first round: launches %v decline %v", launchIDs(ls), dec)
		}
		if round > 0 && (len(ls) != 0 || len(dec) != 2) {
			t.Fatalf("round %d: launches %v decline %v", round, launchIDs(ls), dec)
		}
		if round == 2 {
			for _, tk := range s.Tasks("web") {
				update(s, tk.ID, api.TaskRunning, now)
			}
		}
	}
	as := appStatus(t, s, "web")
	if as.Waiting != 1 || as.TasksRunning != 2 {
		t.Fatalf("status %+v", as)
	}
	if !s.WantsOffers() {
		t.Fatal("an app lacking an instance should want offers")
	}
}

func TestScaleUpDown(t *testing.T) {
	s := NewScheduler(Config{})
	d := mustCreate(t, s, testApp("web", 2), at(0))
	if d.Kind != KindCreate || d.Target != 2 || len(s.Deployments()) != 1 {
		t.Fatalf("deployment %+v", s.Deployments())
	}
	ls, _ := s.Offers([]framework.Offer{offerOn("o1", "h1")}, at(1))
	if len(ls) != 2 {
		t.Fatalf("one offer should host both: %v", launchIDs(ls))
	}
	runAll(t, s, ls, at(2))
	s.Tick(at(3))
	if len(s.Deployments()) != 0 || s.WantsOffers() {
		t.Fatalf("deployment should be done: %+v", s.Deployments())
	}
	if _, err := s.Scale("web", 4, at(10)); err != nil {
		t.Fatal(err)
	}
	if !s.WantsOffers() {
		t.Fatal("scale up should want offers")
	}
	ls2, _ := s.Offers([]framework.Offer{offerOn("o2", "h2")}, at(11))
	if len(ls2) != 2 {
		t.Fatalf("scale up launches %v", launchIDs(ls2))
	}
	runAll(t, s, ls2, at(12))
	if _, err := s.Scale("web", 1, at(20)); err != nil {
		t.Fatal(err)
	}
	kills := s.Tick(at(21))
	// Youngest first: the two scale-up tasks, then the younger of the first two.
	want := []string{"web.4", "web.3", "web.2"}
	if !reflect.DeepEqual(kills, want) {
		t.Fatalf("kills %v, want %v", kills, want)
	}
	if k := s.Tick(at(22)); len(k) != 0 {
		t.Fatalf("kills repeated: %v", k)
	}
	for _, id := range want {
		update(s, id, api.TaskKilled, at(23))
	}
	as := appStatus(t, s, "web")
	if as.TasksRunning != 1 || as.Waiting != 0 || !as.DelayedUntil.IsZero() || as.LastFailure != "" {
		t.Fatalf("status after scale down %+v", as)
	}
	s.Tick(at(24))
	if len(s.Deployments()) != 0 {
		t.Fatalf("scale down deployment not done: %+v", s.Deployments())
	}
	// Killed by us: scaling up again launches at once, no backoff.
	s.Scale("web", 2, at(25))
	if ls, _ := s.Offers([]framework.Offer{offerOn("o3", "h1")}, at(25)); len(ls) != 1 {
		t.Fatalf("launch after our kills should not back off: %v", launchIDs(ls))
	}
}

func TestBackoff(t *testing.T) {
	s := NewScheduler(Config{})
	mustCreate(t, s, testApp("web", 1, func(a *App) {
		a.BackoffSeconds, a.BackoffFactor, a.MaxLaunchDelaySeconds = 10, 2, 35
	}), at(0))
	o := []framework.Offer{offerOn("o", "h1")}
	now := 0.0
	// Each failure happens 1 s after start: the delay doubles, capped at 35.
	for i, delay := range []float64{10, 20, 35, 35} {
		ls, _ := s.Offers(o, at(now))
		if len(ls) != 1 {
			t.Fatalf("failure %d: expected a launch at %v", i, now)
		}
		id := ls[0].Task.ID
		update(s, id, api.TaskRunning, at(now+1))
		update(s, id, api.TaskFailed, at(now+2))
		failedAt := now + 2
		as := appStatus(t, s, "web")
		if !as.DelayedUntil.Equal(at(failedAt+delay)) || as.LastFailure == "" || as.Waiting != 1 {
			t.Fatalf("failure %d: status %+v, want delay %v", i, as, delay)
		}
		if ls, dec := s.Offers(o, at(failedAt+delay-0.5)); len(ls) != 0 || len(dec) != 1 {
			t.Fatalf("failure %d: launched during backoff", i)
		}
		if s.WantsOffers() {
			t.Fatalf("failure %d: wants offers during backoff", i)
		}
		now = failedAt + delay
	}
	// A task that runs longer than twice the delay resets the count.
	ls, _ := s.Offers(o, at(now))
	id := ls[0].Task.ID
	update(s, id, api.TaskRunning, at(now))
	update(s, id, api.TaskFailed, at(now+100))
	if as := appStatus(t, s, "web"); !as.DelayedUntil.Equal(at(now + 110)) {
		t.Fatalf("failure count not reset: %+v", as)
	}
}

func TestDelete(t *testing.T) {
	s := NewScheduler(Config{})
	mustCreate(t, s, testApp("web", 2), at(0))
	mustCreate(t, s, testApp("db", 1), at(0))
	ls, _ := s.Offers([]framework.Offer{offerOn("o", "h1")}, at(1))
	runAll(t, s, ls, at(2))
	kills, err := s.DeleteApp("/web", at(3))
	if err != nil || !reflect.DeepEqual(kills, []string{"web.2", "web.3"}) {
		t.Fatalf("kills %v %v", kills, err)
	}
	if _, ok := s.App("web"); ok || len(s.Apps()) != 1 || len(s.Tasks("web")) != 0 {
		t.Fatal("app not gone")
	}
	if k := update(s, "web.2", api.TaskRunning, at(4)); !reflect.DeepEqual(k, []string{"web.2"}) {
		t.Fatalf("late running update of a deleted task should re-kill: %v", k)
	}
	if k := update(s, "web.2", api.TaskKilled, at(5)); len(k) != 0 {
		t.Fatalf("late terminal update: %v", k)
	}
	if k := update(s, "web.3", api.TaskFailed, at(5)); len(k) != 0 {
		t.Fatalf("late terminal update: %v", k)
	}
	if _, ok := s.App("web"); ok || len(s.AllTasks()) != 1 {
		t.Fatalf("late updates resurrected something: %+v", s.AllTasks())
	}
	if k := update(s, "ghost.1", api.TaskRunning, at(6)); !reflect.DeepEqual(k, []string{"ghost.1"}) {
		t.Fatalf("task of unknown app: %v", k)
	}
	if k := update(s, "ghost.1", api.TaskFailed, at(6)); len(k) != 0 {
		t.Fatalf("terminal update of unknown task: %v", k)
	}
	if s.WantsOffers() {
		t.Fatal("nothing is missing")
	}
}

func TestAdoptionAfterFailover(t *testing.T) {
	s1 := NewScheduler(Config{})
	mustCreate(t, s1, testApp("web", 2), at(0))
	ls, _ := s1.Offers([]framework.Offer{offerOn("o", "h1")}, at(1))
	runAll(t, s1, ls, at(2))
	var stored []App
	for _, as := range s1.Apps() {
		stored = append(stored, as.App)
	}

	s2 := NewScheduler(Config{})
	s2.Restore(stored)
	for _, l := range ls {
		st := api.TaskStatus{TaskID: l.Task.ID, AgentID: l.AgentID, State: api.TaskRunning, Reason: api.ReasonReconciliation}
		if k := s2.Update(st, "h1", map[string]string{"rack": "r1"}, at(10)); len(k) != 0 {
			t.Fatalf("adoption killed %v", k)
		}
	}
	as := appStatus(t, s2, "web")
	if as.TasksRunning != 2 || as.Waiting != 0 || s2.WantsOffers() {
		t.Fatalf("after adoption %+v", as)
	}
	if ls2, dec := s2.Offers([]framework.Offer{offerOn("o2", "h1")}, at(11)); len(ls2) != 0 || len(dec) != 1 {
		t.Fatalf("adopted instances launched again: %v", launchIDs(ls2))
	}
	// New task ids never collide with adopted ones.
	s2.Scale("web", 3, at(12))
	ls3, _ := s2.Offers([]framework.Offer{offerOn("o3", "h1")}, at(12))
	if len(ls3) != 1 || ls3[0].Task.ID == ls[0].Task.ID || ls3[0].Task.ID == ls[1].Task.ID {
		t.Fatalf("launch after adoption %v", launchIDs(ls3))
	}
	update(s2, ls3[0].Task.ID, api.TaskRunning, at(13))
	// A fourth task re-reported late is a surplus: the youngest goes.
	k := s2.Update(api.TaskStatus{TaskID: "web.99", State: api.TaskRunning}, "h2", nil, at(14))
	if !reflect.DeepEqual(k, []string{"web.99"}) {
		t.Fatalf("surplus kill %v", k)
	}
}

func TestUnreachableReturns(t *testing.T) {
	s := NewScheduler(Config{})
	mustCreate(t, s, testApp("web", 1), at(0))
	ls, _ := s.Offers([]framework.Offer{offerOn("o", "h1")}, at(1))
	first := ls[0].Task.ID
	update(s, first, api.TaskRunning, at(2))
	update(s, first, api.TaskUnreachable, at(3))
	if as := appStatus(t, s, "web"); as.Waiting != 1 || !as.DelayedUntil.IsZero() {
		t.Fatalf("unreachable should free the slot without backoff: %+v", as)
	}
	ls2, _ := s.Offers([]framework.Offer{offerOn("o2", "h2")}, at(3))
	if len(ls2) != 1 {
		t.Fatal("no replacement for the unreachable task")
	}
	update(s, ls2[0].Task.ID, api.TaskRunning, at(4))
	// The stale copy goes; the replacement, placed knowing the cluster as
	// it is now, stays.
	if k := update(s, first, api.TaskRunning, at(5)); !reflect.DeepEqual(k, []string{first}) {
		t.Fatalf("returning task: kills %v, want the stale copy %s", k, first)
	}
}

func TestPools(t *testing.T) {
	s := NewScheduler(Config{})
	mustCreate(t, s, testApp("batch", 3), at(0))
	mustCreate(t, s, testApp("svc", 2, func(a *App) { a.Revocable = false }), at(0))
	small := resources.Resources{CPUs: 2, MemBytes: 1 << 30}
	o1 := framework.Offer{ID: "rev-only", AgentID: "a1", Hostname: "h1", Revocable: small}
	o2 := framework.Offer{ID: "ded-only", AgentID: "a2", Hostname: "h2", Dedicated: small}
	o3 := framework.Offer{ID: "nothing", AgentID: "a3", Hostname: "h3"}
	ls, dec := s.Offers([]framework.Offer{o1, o2, o3}, at(1))
	got := map[string][]string{}
	for _, l := range ls {
		if l.Revocable != l.Task.Revocable {
			t.Fatalf("launch pool mismatch %+v", l)
		}
		got[l.OfferID] = append(got[l.OfferID], l.Task.Name)
	}
	// 2 CPUs per offer: two batch tasks on the revocable offer, two svc
	// tasks on the dedicated one, the third batch task waits.
	want := map[string][]string{"rev-only": {"batch", "batch"}, "ded-only": {"svc", "svc"}}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(dec, []string{"nothing"}) {
		t.Fatalf("launches %v decline %v", got, dec)
	}
	if as := appStatus(t, s, "batch"); as.Waiting != 1 {
		t.Fatalf("batch %+v", as)
	}
}

func TestWantsOffers(t *testing.T) {
	s := NewScheduler(Config{})
	if s.WantsOffers() {
		t.Fatal("empty scheduler wants offers")
	}
	mustCreate(t, s, testApp("web", 1), at(0))
	if !s.WantsOffers() {
		t.Fatal("new app should want offers")
	}
	ls, _ := s.Offers([]framework.Offer{offerOn("o", "h1")}, at(1))
	if s.WantsOffers() {
		t.Fatal("staging task counts toward instances")
	}
	update(s, ls[0].Task.ID, api.TaskFailed, at(2))
	if s.WantsOffers() {
		t.Fatal("backing off app wants offers")
	}
	s.Tick(at(3.5))
	if !s.WantsOffers() {
		t.Fatal("backoff over, should want offers")
	}
	s.Scale("web", 0, at(4))
	if s.WantsOffers() {
		t.Fatal("zero instances wants offers")
	}
}

func TestAttributesChanged(t *testing.T) {
	s := NewScheduler(Config{})
	mustCreate(t, s, testApp("web", 2, func(a *App) { a.Constraints = [][]string{{"rack", "LIKE", "r[12]"}} }), at(0))
	ls, dec := s.Offers([]framework.Offer{offerOn("o1", "h1", "rack", "r1"), offerOn("o3", "h3", "rack", "r3")}, at(1))
	if len(ls) != 2 || !reflect.DeepEqual(dec, []string{"o3"}) || ls[0].Hostname != "h1" {
		t.Fatalf("launches %v decline %v", launchIDs(ls), dec)
	}
	runAll(t, s, ls, at(2))
	if k := s.AttributesChanged("agent-h1", "h1", map[string]string{"rack": "r2"}); len(k) != 0 {
		t.Fatalf("still matching: kills %v", k)
	}
	k := s.AttributesChanged("agent-h1", "h1", map[string]string{"rack": "r9"})
	if !reflect.DeepEqual(k, launchIDs(ls)) {
		t.Fatalf("kills %v, want %v", k, launchIDs(ls))
	}
	if as := appStatus(t, s, "web"); as.Waiting != 2 {
		t.Fatalf("killed tasks should be replaced: %+v", as)
	}
	for _, id := range k {
		update(s, id, api.TaskKilled, at(3))
	}
	if as := appStatus(t, s, "web"); !as.DelayedUntil.IsZero() {
		t.Fatalf("constraint kills are not failures: %+v", as)
	}
}

func TestHealthKill(t *testing.T) {
	s := NewScheduler(Config{})
	hc := NewHealthCheck("TCP")
	hc.Port, hc.GracePeriodSeconds, hc.IntervalSeconds, hc.MaxConsecutiveFailures = 8080, 10, 5, 3
	mustCreate(t, s, testApp("web", 1, func(a *App) { a.HealthChecks = []HealthCheck{hc} }), at(0))
	ls, _ := s.Offers([]framework.Offer{offerOn("o", "h1")}, at(0))
	id := ls[0].Task.ID
	if p := s.DueProbes(at(0)); len(p) != 0 {
		t.Fatalf("staging task probed: %v", p)
	}
	update(s, id, api.TaskRunning, at(0))
	p := s.DueProbes(at(0))
	want := []Probe{{TaskID: id, Protocol: "TCP", Host: "h1", Port: 8080, Timeout: 20 * time.Second}}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("probes %+v", p)
	}
	if p := s.DueProbes(at(4)); len(p) != 0 {
		t.Fatalf("probe before interval: %v", p)
	}
	if p := s.DueProbes(at(5)); len(p) != 1 {
		t.Fatalf("probe after interval: %v", p)
	}
	if c := s.DueCommands(at(5)); len(c) != 0 {
		t.Fatalf("no command checks: %v", c)
	}
	// Failures in the grace period are ignored.
	for i := 0; i < 5; i++ {
		s.HealthResult(id, false, at(float64(i)))
	}
	if k := s.Tick(at(9)); len(k) != 0 {
		t.Fatalf("killed in grace period: %v", k)
	}
	s.HealthResult(id, true, at(11))
	if as := appStatus(t, s, "web"); as.TasksHealthy != 1 {
		t.Fatalf("status %+v", as)
	}
	s.HealthResult(id, false, at(12))
	s.HealthResult(id, false, at(13))
	if k := s.Tick(at(13)); len(k) != 0 {
		t.Fatalf("killed after 2 failures: %v", k)
	}
	if as := appStatus(t, s, "web"); as.TasksUnhealthy != 1 {
		t.Fatalf("status %+v", as)
	}
	s.HealthResult(id, false, at(14))
	if k := s.Tick(at(14)); !reflect.DeepEqual(k, []string{id}) {
		t.Fatalf("unhealthy kill %v", k)
	}
	// The kill counts as a failure: replaced after the 1 s backoff, and
	// the kill's own TASK_KILLED does not count twice.
	update(s, id, api.TaskKilled, at(14.2))
	as := appStatus(t, s, "web")
	if as.Waiting != 1 || as.LastFailure == "" || !as.DelayedUntil.Equal(at(15)) {
		t.Fatalf("after unhealthy kill %+v", as)
	}
	if ls, _ := s.Offers([]framework.Offer{offerOn("o2", "h2")}, at(14.5)); len(ls) != 0 {
		t.Fatal("replaced during backoff")
	}
	if ls, _ := s.Offers([]framework.Offer{offerOn("o2", "h2")}, at(15)); len(ls) != 1 {
		t.Fatal("unhealthy task not replaced after backoff")
	}
}

func TestCommandChecks(t *testing.T) {
	s := NewScheduler(Config{})
	hc := NewHealthCheck("COMMAND")
	hc.Command = &CheckCommand{Value: "curl -f localhost"}
	mustCreate(t, s, testApp("web", 1, func(a *App) { a.HealthChecks = []HealthCheck{hc} }), at(0))
	ls, _ := s.Offers([]framework.Offer{offerOn("o", "h1")}, at(0))
	update(s, ls[0].Task.ID, api.TaskRunning, at(0))
	c := s.DueCommands(at(1))
	want := []CommandCheck{{TaskID: ls[0].Task.ID, AgentID: "agent-h1", Command: "curl -f localhost", Timeout: 20 * time.Second}}
	if !reflect.DeepEqual(c, want) || len(s.DueProbes(at(1))) != 0 {
		t.Fatalf("commands %+v", c)
	}
}

func TestRollingRestart(t *testing.T) {
	s := NewScheduler(Config{})
	mustCreate(t, s, testApp("web", 3), at(0))
	ls, _ := s.Offers([]framework.Offer{offerOn("o", "h1")}, at(1))
	runAll(t, s, ls, at(2))
	s.Tick(at(3))
	old := launchIDs(ls)
	d, err := s.Restart("web", at(10))
	if err != nil || d.Kind != KindRestart {
		t.Fatal(d, err)
	}
	liveRunning := func() int {
		n := 0
		for _, tk := range s.Tasks("web") {
			if tk.State == api.TaskRunning && !tk.KillRequested {
				n++
			}
		}
		return n
	}
	nl, _ := s.Offers([]framework.Offer{offerOn("o2", "h2")}, at(11))
	if len(nl) != 3 {
		t.Fatalf("new version launches %v", launchIDs(nl))
	}
	if k := s.Tick(at(12)); len(k) != 0 {
		t.Fatalf("old killed before new run: %v", k)
	}
	var killed []string
	for i, l := range nl {
		k := update(s, l.Task.ID, api.TaskRunning, at(float64(13+i)))
		if len(k) != 1 {
			t.Fatalf("step %d: kills %v, want one old task", i, k)
		}
		killed = append(killed, k...)
		if n := liveRunning(); n < 3 {
			t.Fatalf("step %d: only %d serving", i, n)
		}
		update(s, k[0], api.TaskKilled, at(float64(13+i)))
	}
	if !sameSet(killed, old) {
		t.Fatalf("killed %v, want the old tasks %v", killed, old)
	}
	if len(s.Deployments()) != 1 {
		t.Fatal("deployment ended early")
	}
	s.Tick(at(20))
	if len(s.Deployments()) != 0 || appStatus(t, s, "web").LastFailure != "" {
		t.Fatalf("deployment not done: %+v", s.Deployments())
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return len(a) == len(b)
}

func TestGroupBySpread(t *testing.T) {
	s := NewScheduler(Config{})
	mustCreate(t, s, testApp("web", 4, func(a *App) { a.Constraints = [][]string{{"rack", "GROUP_BY"}} }), at(0))
	ls, _ := s.Offers([]framework.Offer{offerOn("o1", "h1", "rack", "r1"), offerOn("o2", "h2", "rack", "r1"), offerOn("o3", "h3", "rack", "r2")}, at(1))
	perRack := map[string]int{}
	for _, l := range ls {
		perRack[map[string]string{"h1": "r1", "h2": "r1", "h3": "r2"}[l.Hostname]]++
	}
	if len(ls) != 4 || perRack["r1"] != 2 || perRack["r2"] != 2 {
		t.Fatalf("spread %v over %d launches", perRack, len(ls))
	}
	// A new rack appears: the next instance must go there.
	s.Scale("web", 5, at(2))
	ls, _ = s.Offers([]framework.Offer{offerOn("o4", "h1", "rack", "r1"), offerOn("o5", "h4", "rack", "r3")}, at(3))
	if len(ls) != 1 || ls[0].Hostname != "h4" {
		t.Fatalf("launches %+v", launchIDs(ls))
	}
}

func TestRollingUpdateWaitsForHealth(t *testing.T) {
	s := NewScheduler(Config{})
	hc := NewHealthCheck("HTTP")
	hc.Port, hc.GracePeriodSeconds, hc.IntervalSeconds = 8080, 0, 1
	a := testApp("web", 2, func(a *App) { a.HealthChecks = []HealthCheck{hc} })
	mustCreate(t, s, a, at(0))
	ls, _ := s.Offers([]framework.Offer{offerOn("o", "h1")}, at(0))
	runAll(t, s, ls, at(1))
	for _, l := range ls {
		s.HealthResult(l.Task.ID, true, at(2))
	}
	s.Tick(at(2))
	if len(s.Deployments()) != 0 {
		t.Fatal("create deployment not done")
	}
	a.Cmd = "sleep 2000"
	if d, err := s.UpdateApp(a, at(10)); err != nil || d.Kind != KindUpdate {
		t.Fatal(d, err)
	}
	nl, _ := s.Offers([]framework.Offer{offerOn("o2", "h2")}, at(11))
	if len(nl) != 2 {
		t.Fatalf("new launches %v", launchIDs(nl))
	}
	if nl[0].Task.Cmd != "sleep 2000" {
		t.Fatalf("new task runs the old command: %q", nl[0].Task.Cmd)
	}
	for _, l := range nl {
		if k := update(s, l.Task.ID, api.TaskRunning, at(12)); len(k) != 0 {
			t.Fatalf("old killed before the new one is healthy: %v", k)
		}
	}
	if k := s.Tick(at(12)); len(k) != 0 {
		t.Fatalf("old killed before the new one is healthy: %v", k)
	}
	s.HealthResult(nl[0].Task.ID, true, at(13))
	if k := s.Tick(at(13)); len(k) != 1 {
		t.Fatalf("one healthy new task should retire one old: %v", k)
	}
	s.HealthResult(nl[1].Task.ID, true, at(14))
	if k := s.Tick(at(14)); len(k) != 1 {
		t.Fatalf("second old task: %v", k)
	}
	for _, l := range ls {
		update(s, l.Task.ID, api.TaskKilled, at(15))
	}
	s.Tick(at(15))
	as := appStatus(t, s, "web")
	if len(s.Deployments()) != 0 || as.TasksHealthy != 2 || as.LastFailure != "" || len(s.AllTasks()) != 2 {
		t.Fatalf("after update %+v %+v", as, s.Deployments())
	}
}

func TestRestoreKeepsVersion(t *testing.T) {
	s := NewScheduler(Config{})
	a := testApp("web", 0)
	a.Version = "2029-05-01T10:00:00.000Z"
	s.Restore([]App{a})
	if got := appStatus(t, s, "web").App.Version; got != a.Version {
		t.Fatalf("version %q", got)
	}
	// A restart within the stored version's millisecond still moves on.
	s.Restart("web", time.Date(2029, 5, 1, 10, 0, 0, 0, time.UTC))
	if got := appStatus(t, s, "web").App.Version; got != "2029-05-01T10:00:00.001Z" {
		t.Fatalf("version %q", got)
	}
}
