package apps

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/master/framework"
)

// Errors the HTTP layer maps to status codes (409, 404).
var (
	ErrExists   = errors.New("app already exists")
	ErrNotFound = errors.New("app not found")
)

// NotFoundError names an app that does not exist the way users write it,
// "app /web not found"; it matches ErrNotFound.
type NotFoundError struct{ ID string }

func (e *NotFoundError) Error() string        { return "app /" + e.ID + " not found" }
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// NotFound returns the error for an app id that names no app.
func NotFound(id string) error { return &NotFoundError{ID: NormalizeID(id)} }

// DefaultFrameworkID is the framework id the apps scheduler registers as.
const DefaultFrameworkID = "headroom-apps"

// Deployment kinds.
const (
	KindCreate  = "create"
	KindScale   = "scale"
	KindUpdate  = "update"
	KindRestart = "restart"
	KindDelete  = "delete"
)

// Kill reasons, kept on the task so the status update that follows the
// kill is not mistaken for a failure.
const (
	killScaleDown  = "scale down"
	killReplaced   = "replaced by a new version"
	killUnhealthy  = "unhealthy"
	killConstraint = "constraints no longer hold"
)

// versionLayout is Marathon's version format: RFC3339 with milliseconds.
const versionLayout = "2006-01-02T15:04:05.000Z07:00"

// Config configures a Scheduler.
type Config struct {
	// FrameworkID defaults to DefaultFrameworkID.
	FrameworkID string
	// NewID returns the suffix of new task ids. The default is a counter,
	// deterministic for tests; a master should pass a random generator so
	// ids stay unique across failovers. Dots are replaced by dashes since
	// the last dot separates the app from the suffix.
	NewID func() string
}

// Task is the scheduler's view of one task of an app.
type Task struct {
	ID, AppID, AgentID, Hostname string
	Attributes                   map[string]string
	State                        api.TaskState
	Version                      string
	StagedAt, StartedAt          time.Time
	// Healthy is nil until every health check has reported.
	Healthy   *bool
	Revocable bool
	Message   string
	// KillRequested is set once the scheduler asked for the task's end.
	KillRequested bool
}

// AppStatus is an app with its task counts, Marathon's /v2/apps view.
type AppStatus struct {
	App                          App
	TasksRunning, TasksStaged    int
	TasksHealthy, TasksUnhealthy int
	// Waiting is how many instances of the current version lack a task.
	Waiting      int
	Deployments  []string
	LastFailure  string
	DelayedUntil time.Time
	// Reason says why Waiting instances do not run, since ReasonSince;
	// empty when none waits.
	Reason      string
	ReasonSince time.Time
}

// Deployment is one change being rolled out.
type Deployment struct {
	ID      string
	AppID   string
	Kind    string
	Started time.Time
	Target  int
}

// Scheduler is the apps framework's state machine. It is not safe for
// concurrent use: the master calls it from its single loop.
type Scheduler struct {
	frameworkID string
	newID       func() string
	seq         uint64
	deploySeq   uint64
	apps        map[string]*appState
	tasks       map[string]*task
	// byApp indexes tasks by app, so per-app work does not scan them all.
	byApp map[string]map[string]*task
	// doomed holds tasks of deleted apps we asked to kill, until their
	// terminal update, so late updates are recognised and ignored.
	doomed map[string]bool
	// agents is every agent seen in offers and updates; GROUP_BY needs the
	// groups that exist even where no task runs yet.
	agents map[string]framework.Agent
	// now is the latest time any call passed in: WantsOffers takes none.
	now time.Time
}

type appState struct {
	app         App
	constraints []framework.Constraint
	versionTime time.Time
	failures    int
	delayUntil  time.Time
	lastFailure string
	// cause is the last failure as the backoff reason words it.
	cause       string
	deployments []Deployment
	// why is the reason its missing instances wait, set by each cycle.
	why reasonAt
}

type task struct {
	Task
	kill   string // why we asked to kill it; empty when we did not
	checks []checkState
}

// NewScheduler returns an empty scheduler.
func NewScheduler(cfg Config) *Scheduler {
	s := &Scheduler{
		frameworkID: cfg.FrameworkID,
		newID:       cfg.NewID,
		apps:        map[string]*appState{},
		tasks:       map[string]*task{},
		byApp:       map[string]map[string]*task{},
		doomed:      map[string]bool{},
		agents:      map[string]framework.Agent{},
	}
	if s.frameworkID == "" {
		s.frameworkID = DefaultFrameworkID
	}
	if s.newID == nil {
		s.newID = func() string {
			s.seq++
			return strconv.FormatUint(s.seq, 10)
		}
	}
	return s
}

func (s *Scheduler) observe(now time.Time) {
	if now.After(s.now) {
		s.now = now
	}
}

func isLive(st api.TaskState) bool {
	return st == api.TaskStaging || st == api.TaskStarting || st == api.TaskRunning
}

// active tasks hold an instance slot: live and not being killed.
func (t *task) active() bool { return isLive(t.State) && t.kill == "" }

// ready tasks count as serving: running, and healthy when checked.
func (t *task) ready(app App) bool {
	if t.State != api.TaskRunning {
		return false
	}
	return len(app.HealthChecks) == 0 || (t.Healthy != nil && *t.Healthy)
}

// setVersion gives the app a new version strictly after the previous one,
// so two changes within a millisecond still differ.
func (st *appState) setVersion(now time.Time) {
	v := now.UTC().Truncate(time.Millisecond)
	if !v.After(st.versionTime) {
		v = st.versionTime.Add(time.Millisecond)
	}
	st.versionTime = v
	st.app.Version = v.Format(versionLayout)
}

func (s *Scheduler) startDeployment(st *appState, kind string, now time.Time) Deployment {
	s.deploySeq++
	d := Deployment{
		ID:      fmt.Sprintf("%s-%d", strings.ReplaceAll(st.app.ID, "/", "_"), s.deploySeq),
		AppID:   st.app.ID,
		Kind:    kind,
		Started: now,
		Target:  st.app.Instances,
	}
	// A new change supersedes the one in flight: the scheduler always
	// converges to the latest definition, there is nothing to lock.
	st.deployments = []Deployment{d}
	return d
}

func prepare(app App) (App, []framework.Constraint, error) {
	app = app.Clone()
	app.ID = NormalizeID(app.ID)
	if err := app.Validate(); err != nil {
		return App{}, nil, fmt.Errorf("app %q: %w", app.ID, err)
	}
	cs, err := framework.ParseConstraints(app.Constraints)
	if err != nil {
		return App{}, nil, fmt.Errorf("app %q: %w", app.ID, err)
	}
	return app, cs, nil
}

// CreateApp adds an app; its tasks launch on the next offers.
func (s *Scheduler) CreateApp(app App, now time.Time) (Deployment, error) {
	s.observe(now)
	app, cs, err := prepare(app)
	if err != nil {
		return Deployment{}, err
	}
	if _, ok := s.apps[app.ID]; ok {
		return Deployment{}, fmt.Errorf("app %q: %w", app.ID, ErrExists)
	}
	st := &appState{app: app, constraints: cs}
	st.setVersion(now)
	s.apps[app.ID] = st
	return s.startDeployment(st, KindCreate, now), nil
}

// UpdateApp replaces an app's definition. A change of instances alone is a
// scale; any other change gets a new version and replaces every task.
func (s *Scheduler) UpdateApp(app App, now time.Time) (Deployment, error) {
	s.observe(now)
	app, cs, err := prepare(app)
	if err != nil {
		return Deployment{}, err
	}
	st, ok := s.apps[app.ID]
	if !ok {
		return Deployment{}, NotFound(app.ID)
	}
	kind := KindScale
	if sameDefinition(st.app, app) {
		app.Version = st.app.Version
		st.app = app
	} else {
		kind = KindUpdate
		st.app, st.constraints = app, cs
		st.setVersion(now)
		// A new definition deserves a fresh start, not the old one's delay.
		st.failures, st.delayUntil = 0, time.Time{}
	}
	return s.startDeployment(st, kind, now), nil
}

// Scale sets an app's instance count.
func (s *Scheduler) Scale(id string, instances int, now time.Time) (Deployment, error) {
	s.observe(now)
	id = NormalizeID(id)
	st, ok := s.apps[id]
	if !ok {
		return Deployment{}, NotFound(id)
	}
	if instances < 0 || instances > maxInstances {
		return Deployment{}, fmt.Errorf("app %q: %w", id, &ValidationError{
			Message: "Object is not valid",
			Details: []FieldError{{Path: "/instances", Errors: []string{fmt.Sprintf("must be between 0 and %d", maxInstances)}}},
		})
	}
	st.app.Instances = instances
	return s.startDeployment(st, KindScale, now), nil
}

// Restart gives the app a new version with the same definition, which
// replaces every task, rolling.
func (s *Scheduler) Restart(id string, now time.Time) (Deployment, error) {
	s.observe(now)
	id = NormalizeID(id)
	st, ok := s.apps[id]
	if !ok {
		return Deployment{}, NotFound(id)
	}
	st.setVersion(now)
	st.failures, st.delayUntil = 0, time.Time{}
	return s.startDeployment(st, KindRestart, now), nil
}

// DeleteApp removes the app at once and returns its tasks to kill.
// Unreachable tasks are included: the kill reaches them if they return.
func (s *Scheduler) DeleteApp(id string, now time.Time) ([]string, error) {
	s.observe(now)
	id = NormalizeID(id)
	if _, ok := s.apps[id]; !ok {
		return nil, NotFound(id)
	}
	var kills []string
	for _, t := range s.appTasks(id) {
		kills = append(kills, t.ID)
		s.doomed[t.ID] = true
		s.removeTask(t)
	}
	delete(s.apps, id)
	return kills, nil
}

// Restore loads apps after a failover. Their tasks come back through
// Update as agents re-report them, and are adopted there.
func (s *Scheduler) Restore(apps []App) {
	for _, a := range apps {
		a = a.Clone()
		a.ID = NormalizeID(a.ID)
		// Stored apps were validated when written; constraints that no
		// longer parse would be a bug, and are then simply not enforced.
		cs, _ := framework.ParseConstraints(a.Constraints)
		st := &appState{app: a, constraints: cs}
		if v, err := time.Parse(time.RFC3339, a.Version); err == nil {
			st.versionTime = v
		}
		s.apps[a.ID] = st
	}
}

func (s *Scheduler) addTask(t *task) {
	s.tasks[t.ID] = t
	m := s.byApp[t.AppID]
	if m == nil {
		m = map[string]*task{}
		s.byApp[t.AppID] = m
	}
	m[t.ID] = t
}

func (s *Scheduler) removeTask(t *task) {
	delete(s.tasks, t.ID)
	if m := s.byApp[t.AppID]; m != nil {
		delete(m, t.ID)
		if len(m) == 0 {
			delete(s.byApp, t.AppID)
		}
	}
}

// appTasks returns the app's tasks sorted by id.
func (s *Scheduler) appTasks(appID string) []*task {
	m := s.byApp[appID]
	out := make([]*task, 0, len(m))
	for _, id := range sortedKeys(m) {
		out = append(out, m[id])
	}
	return out
}

// split returns the app's active tasks of the current version and of older
// ones.
func (s *Scheduler) split(st *appState) (cur, old []*task) {
	for _, t := range s.appTasks(st.app.ID) {
		if !t.active() {
			continue
		}
		if t.Version == st.app.Version {
			cur = append(cur, t)
		} else {
			old = append(old, t)
		}
	}
	return cur, old
}

func (s *Scheduler) need(st *appState) int {
	cur, _ := s.split(st)
	return max(0, st.app.Instances-len(cur))
}

// WantsOffers reports whether some app lacks instances and is not backing
// off, as of the latest time passed to the scheduler: the master revives
// offers when true and suppresses them when false.
func (s *Scheduler) WantsOffers() bool {
	for _, id := range sortedKeys(s.apps) {
		st := s.apps[id]
		if s.need(st) > 0 && !s.now.Before(st.delayUntil) {
			return true
		}
	}
	return false
}

func (s *Scheduler) status(st *appState) AppStatus {
	as := AppStatus{App: st.app.Clone(), Waiting: s.need(st), LastFailure: st.lastFailure}
	if st.delayUntil.After(s.now) {
		as.DelayedUntil = st.delayUntil
	}
	if as.Waiting > 0 {
		as.Reason, as.ReasonSince = st.why.text, st.why.since
		if as.DelayedUntil.IsZero() && as.Reason == "" && len(st.deployments) > 0 {
			as.Reason, as.ReasonSince = ReasonNextCycle, st.deployments[0].Started
		}
	}
	for _, t := range s.appTasks(st.app.ID) {
		switch t.State {
		case api.TaskRunning:
			as.TasksRunning++
		case api.TaskStaging, api.TaskStarting:
			as.TasksStaged++
		}
		if t.Healthy != nil && isLive(t.State) {
			if *t.Healthy {
				as.TasksHealthy++
			} else {
				as.TasksUnhealthy++
			}
		}
	}
	for _, d := range st.deployments {
		as.Deployments = append(as.Deployments, d.ID)
	}
	return as
}

// App returns one app's status.
func (s *Scheduler) App(id string) (AppStatus, bool) {
	st, ok := s.apps[NormalizeID(id)]
	if !ok {
		return AppStatus{}, false
	}
	return s.status(st), true
}

// Apps returns every app's status, sorted by id.
func (s *Scheduler) Apps() []AppStatus {
	var out []AppStatus
	for _, id := range sortedKeys(s.apps) {
		out = append(out, s.status(s.apps[id]))
	}
	return out
}

func (t *task) snapshot() Task {
	c := t.Task
	c.Attributes = cloneMap(t.Attributes)
	if t.Healthy != nil {
		h := *t.Healthy
		c.Healthy = &h
	}
	c.KillRequested = t.kill != ""
	return c
}

// Tasks returns the app's tasks sorted by id.
func (s *Scheduler) Tasks(appID string) []Task {
	var out []Task
	for _, t := range s.appTasks(NormalizeID(appID)) {
		out = append(out, t.snapshot())
	}
	return out
}

// AllTasks returns every task sorted by app, then id.
func (s *Scheduler) AllTasks() []Task {
	var out []Task
	for _, id := range sortedKeys(s.apps) {
		out = append(out, s.Tasks(id)...)
	}
	return out
}

// Deployments returns the deployments in flight, oldest first.
func (s *Scheduler) Deployments() []Deployment {
	var out []Deployment
	for _, id := range sortedKeys(s.apps) {
		out = append(out, s.apps[id].deployments...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Started.Equal(out[j].Started) {
			return out[i].Started.Before(out[j].Started)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// knownAgents returns the agents seen so far, sorted by id.
func (s *Scheduler) knownAgents() []framework.Agent {
	out := make([]framework.Agent, 0, len(s.agents))
	for _, id := range sortedKeys(s.agents) {
		out = append(out, s.agents[id])
	}
	return out
}

// ForgetAgent drops an agent the master removed for good. Until then its
// attribute values stay known groups for GROUP_BY, which would otherwise
// wait forever for a rack that is gone.
func (s *Scheduler) ForgetAgent(agentID string) {
	delete(s.agents, agentID)
}

func (s *Scheduler) recordAgent(id, hostname string, attrs map[string]string) {
	if id == "" {
		return
	}
	s.agents[id] = framework.Agent{ID: id, Hostname: hostname, Attributes: cloneMap(attrs)}
}

func placement(ts []*task) []framework.Agent {
	out := make([]framework.Agent, 0, len(ts))
	for _, t := range ts {
		out = append(out, framework.Agent{ID: t.AgentID, Hostname: t.Hostname, Attributes: t.Attributes})
	}
	return out
}

// Offers decides what to launch on the offers. Apps are served in id
// order; each missing instance goes on the first offer whose pool fits and
// whose agent passes the constraints, counting tasks launched in this same
// call. Constraints count only the current version's tasks: during a
// rolling replace the old tasks are leaving, and counting them would make
// UNIQUE over exactly as many hosts as instances deadlock.
func (s *Scheduler) Offers(offers []framework.Offer, now time.Time) (launches []framework.Launch, decline []string) {
	s.observe(now)
	type left struct {
		framework.Offer
		used bool
	}
	pool := make([]*left, 0, len(offers))
	for _, o := range offers {
		s.recordAgent(o.AgentID, o.Hostname, o.Attributes)
		pool = append(pool, &left{Offer: o})
	}
	known := s.knownAgents()
	for _, id := range sortedKeys(s.apps) {
		st := s.apps[id]
		if now.Before(st.delayUntil) {
			st.why.set(s.backoffReason(st), now)
			continue
		}
		cur, _ := s.split(st)
		need := st.app.Instances - len(cur)
		placed := placement(cur)
		want := st.app.Resources()
		// The pools the app may use, in the order it prefers them.
		pools := []bool{st.app.Revocable}
		if st.app.Revocable && st.app.DedicatedFallback {
			pools = append(pools, false)
		}
		for need > 0 {
			var chosen *left
			revocable := false
			for _, rev := range pools {
				for _, o := range pool {
					avail := o.Dedicated
					if rev {
						avail = o.Revocable
					}
					cand := framework.Agent{ID: o.AgentID, Hostname: o.Hostname, Attributes: o.Attributes}
					if avail.Contains(want) && framework.AllowsAll(st.constraints, cand, placed, known) {
						chosen, revocable = o, rev
						break
					}
				}
				if chosen != nil {
					break
				}
			}
			if chosen == nil {
				break
			}
			if revocable {
				chosen.Revocable = chosen.Revocable.Sub(want)
			} else {
				chosen.Dedicated = chosen.Dedicated.Sub(want)
			}
			chosen.used = true
			l := s.launch(st, chosen.Offer, revocable, now)
			launches = append(launches, l)
			placed = append(placed, framework.Agent{ID: l.AgentID, Hostname: l.Hostname, Attributes: chosen.Attributes})
			need--
		}
		why := ""
		if need > 0 {
			rest := make([]framework.Offer, 0, len(pool))
			for _, o := range pool {
				rest = append(rest, o.Offer)
			}
			why = framework.Explain(s.need1(st), rest, placed, known)
		}
		st.why.set(why, now)
	}
	for _, o := range pool {
		if !o.used {
			decline = append(decline, o.ID)
		}
	}
	return launches, decline
}

func (s *Scheduler) launch(st *appState, o framework.Offer, revocable bool, now time.Time) framework.Launch {
	var id string
	for {
		id = taskIDPrefix(st.app.ID) + strings.ReplaceAll(s.newID(), ".", "-")
		if _, taken := s.tasks[id]; !taken && !s.doomed[id] {
			break
		}
	}
	t := &task{
		Task: Task{
			ID: id, AppID: st.app.ID, AgentID: o.AgentID, Hostname: o.Hostname,
			Attributes: cloneMap(o.Attributes), State: api.TaskStaging,
			Version: st.app.Version, StagedAt: now, Revocable: revocable,
		},
		checks: make([]checkState, len(st.app.HealthChecks)),
	}
	s.addTask(t)
	info := st.app.taskInfo(s.frameworkID, id)
	info.Revocable = revocable
	return framework.Launch{
		OfferID: o.ID, AgentID: o.AgentID, Hostname: o.Hostname,
		Revocable: revocable,
		Task:      info,
	}
}

// need1 is what one instance of the app asks for.
func (s *Scheduler) need1(st *appState) framework.Need {
	return framework.Need{Resources: st.app.Resources(), Revocable: st.app.Revocable, Instances: st.app.Instances, Constraints: st.constraints}
}

func (s *Scheduler) backoffReason(st *appState) string {
	return framework.BackoffReason(st.delayUntil, st.failures, st.cause)
}

// NoOffers records why the apps short of instances wait in a cycle that
// brought the framework no offer. free returns each agent's free capacity
// (total less used, per pool), the best the master can tell without an
// offer in hand; it is called at most once, and only if some app needs
// it, so a cluster with nothing waiting does not pay for the view.
func (s *Scheduler) NoOffers(free func() []framework.Offer, now time.Time) {
	s.observe(now)
	var known []framework.Agent
	var cands []framework.Offer
	loaded := false
	for _, id := range sortedKeys(s.apps) {
		st := s.apps[id]
		cur, _ := s.split(st)
		switch {
		case st.app.Instances <= len(cur):
			st.why.set("", now)
		case now.Before(st.delayUntil):
			st.why.set(s.backoffReason(st), now)
		default:
			if !loaded {
				cands = append([]framework.Offer(nil), free()...)
				sortOffers(cands)
				known, loaded = s.knownAgents(), true
			}
			st.why.set(framework.Explain(s.need1(st), cands, placement(cur), known), now)
		}
	}
}

// Hold records reason for every app short of instances and not backing
// off, in a cycle where the master allocates nothing (a new leader
// waiting for its agents to re-register).
func (s *Scheduler) Hold(reason string, now time.Time) {
	s.observe(now)
	for _, id := range sortedKeys(s.apps) {
		st := s.apps[id]
		switch {
		case s.need(st) == 0:
			st.why.set("", now)
		case now.Before(st.delayUntil):
			st.why.set(s.backoffReason(st), now)
		default:
			st.why.set(reason, now)
		}
	}
}
