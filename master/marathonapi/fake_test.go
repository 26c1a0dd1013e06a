package marathonapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/marathon"
	"github.com/headroom-dev/headroom/internal/httpserver"
	"github.com/headroom-dev/headroom/master/apps"
)

var errNotFound = errors.New("not found")

// fake is an in-memory Backend: apps run at once, one task per instance.
type fake struct {
	mu     sync.Mutex
	apps   map[string]apps.App
	tasks  map[string]apps.Task
	deps   []apps.Deployment
	seq    int
	killed []string
}

func newFake() *fake {
	return &fake{apps: map[string]apps.App{}, tasks: map[string]apps.Task{}}
}

func isNotFound(err error) bool { return errors.Is(err, errNotFound) }

func writeErrorFor(w http.ResponseWriter, msg string, err error) {
	var ve *apps.ValidationError
	switch {
	case errors.As(err, &ve):
		httpserver.WriteJSON(w, http.StatusUnprocessableEntity, ve)
	case isNotFound(err):
		httpserver.WriteError(w, http.StatusNotFound, err.Error(), nil)
	default:
		httpserver.WriteError(w, http.StatusInternalServerError, msg, err.Error())
	}
}

func (f *fake) status(a apps.App) apps.AppStatus {
	st := apps.AppStatus{App: a}
	for _, t := range f.tasks {
		if t.AppID == a.ID && t.State == api.TaskRunning {
			st.TasksRunning++
		}
	}
	return st
}

func (f *fake) AppStatuses() ([]apps.AppStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apps.AppStatus
	for _, id := range sortedKeys(f.apps) {
		out = append(out, f.status(f.apps[id]))
	}
	return out, nil
}

func (f *fake) AppStatus(id string) (apps.AppStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[id]
	if !ok {
		return apps.AppStatus{}, fmt.Errorf("app /%s: %w", id, errNotFound)
	}
	return f.status(a), nil
}

func (f *fake) AppTaskList(id string) ([]apps.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []apps.Task{}
	for _, tid := range sortedKeys(f.tasks) {
		if t := f.tasks[tid]; t.AppID == id {
			out = append(out, t)
		}
	}
	return out, nil
}

// place runs the app's instances; called with mu held.
func (f *fake) place(a apps.App) {
	n := 0
	for _, t := range f.tasks {
		if t.AppID == a.ID {
			n++
		}
	}
	for ; n < a.Instances; n++ {
		f.seq++
		// As the apps framework names them: slashes are not allowed.
		id := fmt.Sprintf("%s.%d", strings.ReplaceAll(a.ID, "/", "_"), f.seq)
		f.tasks[id] = apps.Task{ID: id, AppID: a.ID, AgentID: "agent-1", Hostname: "host-1", State: api.TaskRunning,
			Version: a.Version, StagedAt: time.Unix(1, 0)}
	}
}

func (f *fake) deploy(id, kind string) marathon.DeploymentResult {
	f.seq++
	d := apps.Deployment{ID: fmt.Sprintf("dep-%d", f.seq), AppID: id, Kind: kind, Started: time.Unix(int64(f.seq), 0)}
	f.deps = append(f.deps, d)
	return marathon.DeploymentResult{DeploymentID: d.ID, Version: f.apps[id].Version}
}

func (f *fake) CreateApp(_ context.Context, a apps.App) (apps.AppStatus, marathon.DeploymentResult, error) {
	if err := a.Validate(); err != nil {
		return apps.AppStatus{}, marathon.DeploymentResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	a.Version = fmt.Sprintf("2026-01-01T00:00:%02d.000Z", f.seq)
	f.apps[a.ID] = a
	f.place(a)
	return f.status(a), f.deploy(a.ID, "create"), nil
}

func (f *fake) PutApp(_ context.Context, id string, body []byte) (marathon.DeploymentResult, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur, exists := f.apps[id]
	if !exists {
		cur = apps.NewApp(id)
	}
	next := cur.Clone()
	if err := json.Unmarshal(body, &next); err != nil {
		return marathon.DeploymentResult{}, false, err
	}
	if err := next.Validate(); err != nil {
		return marathon.DeploymentResult{}, false, err
	}
	next.Version = fmt.Sprintf("2026-01-01T00:01:%02d.000Z", f.seq)
	f.apps[id] = next
	for tid, t := range f.tasks {
		if t.AppID == id && next.Instances < cur.Instances {
			delete(f.tasks, tid)
			cur.Instances--
		}
	}
	f.place(next)
	return f.deploy(id, "update"), !exists, nil
}

func (f *fake) RestartApp(_ context.Context, id string) (marathon.DeploymentResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.deploy(id, "restart"), nil
}

func (f *fake) DeleteApp(_ context.Context, id string) (marathon.DeploymentResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.apps, id)
	for tid, t := range f.tasks {
		if t.AppID == id {
			delete(f.tasks, tid)
		}
	}
	return marathon.DeploymentResult{DeploymentID: "delete-" + id}, nil
}

func (f *fake) KillTask(taskID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[taskID]
	if !ok {
		return fmt.Errorf("task %s: %w", taskID, errNotFound)
	}
	f.killed = append(f.killed, taskID)
	delete(f.tasks, taskID)
	f.place(f.apps[t.AppID])
	return nil
}

func (f *fake) Deployments() ([]apps.Deployment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]apps.Deployment(nil), f.deps...), nil
}

// finish ends every deployment.
func (f *fake) finish() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deps = nil
}
