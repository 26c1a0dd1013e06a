package marathonapi

import (
	"net/http"
	"sort"
	"time"

	"github.com/headroom-dev/headroom/api/marathon"
	"github.com/headroom-dev/headroom/master/apps"
)

// snapshot is what an event stream compares between two looks.
type snapshot struct {
	tasks map[string]taskState
	// deployments by id, with the app they change.
	deployments map[string]apps.Deployment
}

type taskState struct {
	task    apps.Task
	healthy *bool
}

func (s *Server) snapshot() (snapshot, error) {
	snap := snapshot{tasks: map[string]taskState{}, deployments: map[string]apps.Deployment{}}
	list, err := s.b.AppStatuses()
	if err != nil {
		return snap, err
	}
	for _, st := range list {
		tasks, err := s.b.AppTaskList(st.App.ID)
		if err != nil {
			continue // deleted between the two calls
		}
		for _, t := range tasks {
			snap.tasks[t.ID] = taskState{task: t, healthy: t.Healthy}
		}
	}
	deps, err := s.b.Deployments()
	if err != nil {
		return snap, err
	}
	for _, d := range deps {
		snap.deployments[d.ID] = d
	}
	return snap, nil
}

// sseEvent is one event to send.
type sseEvent struct {
	typ     string
	payload any
}

// diff lists what changed from prev to next, in a stable order.
func diff(prev, next snapshot, now time.Time) []sseEvent {
	stamp := marathon.Stamp(now)
	var out []sseEvent
	for _, id := range sortedKeys(next.tasks) {
		n := next.tasks[id]
		p, seen := prev.tasks[id]
		if !seen || p.task.State != n.task.State {
			out = append(out, sseEvent{marathon.EventStatusUpdate, statusUpdate(n.task, stamp)})
		}
		if seen && n.healthy != nil && (p.healthy == nil || *p.healthy != *n.healthy) {
			out = append(out, sseEvent{marathon.EventHealthChanged, marathon.HealthChanged{
				EventType: marathon.EventHealthChanged, Timestamp: stamp, AppID: marathon.AppPath(n.task.AppID),
				TaskID: id, InstanceID: id, Version: n.task.Version, Alive: *n.healthy}})
		}
	}
	// A task that left the list ended: its app dropped it after a
	// terminal state the stream may not have seen.
	for _, id := range sortedKeys(prev.tasks) {
		if _, ok := next.tasks[id]; !ok {
			t := prev.tasks[id].task
			if !t.State.IsTerminal() {
				t.State = "TASK_KILLED"
			}
			out = append(out, sseEvent{marathon.EventStatusUpdate, statusUpdate(t, stamp)})
		}
	}
	for _, id := range sortedKeys(next.deployments) {
		if _, ok := prev.deployments[id]; !ok {
			d := marathon.DeploymentView(next.deployments[id])
			out = append(out, sseEvent{marathon.EventDeploymentInfo, marathon.DeploymentInfo{
				EventType: marathon.EventDeploymentInfo, Timestamp: stamp,
				Plan:        marathon.Plan{ID: d.ID, Version: d.Version, Steps: d.Steps},
				CurrentStep: d.Steps[0]}})
		}
	}
	for _, id := range sortedKeys(prev.deployments) {
		if _, ok := next.deployments[id]; !ok {
			out = append(out, sseEvent{marathon.EventDeploymentSuccess, marathon.DeploymentDone{
				EventType: marathon.EventDeploymentSuccess, Timestamp: stamp, ID: id}})
		}
	}
	return out
}

func statusUpdate(t apps.Task, stamp string) marathon.StatusUpdate {
	return marathon.StatusUpdate{
		EventType: marathon.EventStatusUpdate, Timestamp: stamp, SlaveID: t.AgentID, TaskID: t.ID,
		TaskStatus: string(t.State), Message: t.Message, AppID: marathon.AppPath(t.AppID), Host: t.Hostname,
		Ports: []int{}, IPAddresses: []marathon.IPAddress{}, Version: t.Version,
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// serveEvents is GET /v2/events: server-sent events until the client
// goes. The stream starts with event_stream_attached; every EventPoll it
// sends what changed since the last look.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	prev, err := s.snapshot()
	if err != nil {
		s.writeErr(w, "event stream", err)
		return
	}
	rc := http.NewResponseController(w)
	// The stream outlives the server's write bound.
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	filter := map[string]bool{}
	for _, t := range r.URL.Query()["event_type"] {
		filter[t] = true
	}
	send := func(ev sseEvent) bool {
		if len(filter) > 0 && !filter[ev.typ] {
			return true
		}
		return marathon.WriteSSE(w, ev.typ, ev.payload) == nil
	}
	if !send(sseEvent{marathon.EventStreamAttached, marathon.StreamAttached{
		EventType: marathon.EventStreamAttached, Timestamp: marathon.Stamp(s.cfg.Clock.Now()), RemoteAddress: r.RemoteAddr}}) || rc.Flush() != nil {
		return
	}
	tick := s.cfg.Clock.NewTicker(s.cfg.EventPoll)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.Chan():
		}
		next, err := s.snapshot()
		if err != nil {
			// Not leading any more, or the store is slow: the client
			// reconnects, and finds the leader.
			s.cfg.Log.Info("event stream ended", "remote", r.RemoteAddr, "err", err)
			return
		}
		for _, ev := range diff(prev, next, s.cfg.Clock.Now()) {
			if !send(ev) {
				return
			}
		}
		if rc.Flush() != nil {
			return
		}
		prev = next
	}
}
