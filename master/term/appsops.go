package term

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/headroom-dev/headroom/master/apps"
	"github.com/headroom-dev/headroom/master/store"
)

// DeploymentRef is what the app endpoints answer, as Marathon does.
type DeploymentRef struct {
	DeploymentID string `json:"deploymentId"`
	Version      string `json:"version"`
}

// AppTask is a task as GET /v2/apps/{id}/tasks shows it.
type AppTask struct {
	ID        string `json:"id"`
	AppID     string `json:"appId"`
	Host      string `json:"host"`
	AgentID   string `json:"slaveId"`
	State     string `json:"state"`
	StagedAt  string `json:"stagedAt,omitempty"`
	StartedAt string `json:"startedAt,omitempty"`
	Version   string `json:"version"`
	Healthy   *bool  `json:"healthy,omitempty"`
}

// loadApps builds the apps scheduler of a new term from the store.
func (t *Term) loadApps(ctx context.Context) (*apps.Scheduler, error) {
	// Random task id suffixes: a new leader's must never collide with tasks
	// the agents have not re-reported yet.
	sched := apps.NewScheduler(apps.Config{FrameworkID: AppsFrameworkID, NewID: randomSuffix})
	var loaded []apps.App
	if err := t.cfg.Store.Docs(store.Apps).List(ctx, func(_ string, raw []byte) error {
		a, err := apps.DecodeApp(bytes.NewReader(raw))
		if err != nil {
			return err
		}
		loaded = append(loaded, a)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("loading apps: %w", err)
	}
	sched.Restore(loaded)
	return sched, nil
}

// CreateApp validates, persists and schedules a new app. The app is
// written to the store before the answer, so an acknowledged app survives
// a failover.
func (t *Term) CreateApp(ctx context.Context, app apps.App) (apps.AppStatus, DeploymentRef, error) {
	t.mu.Lock()
	if !t.leading {
		t.mu.Unlock()
		return apps.AppStatus{}, DeploymentRef{}, errNotLeading
	}
	dep, err := t.apps.CreateApp(app, t.cfg.Clock.Now())
	if err != nil {
		t.mu.Unlock()
		return apps.AppStatus{}, DeploymentRef{}, err
	}
	st, _ := t.apps.App(app.ID)
	t.mu.Unlock()
	if err := t.persistApp(ctx, st.App); err != nil {
		t.mu.Lock()
		if t.leading {
			_, _ = t.apps.DeleteApp(st.App.ID, t.cfg.Clock.Now())
		}
		t.mu.Unlock()
		return apps.AppStatus{}, DeploymentRef{}, err
	}
	t.log.Info("app created", "app", st.App.ID, "instances", st.App.Instances)
	return st, DeploymentRef{DeploymentID: dep.ID, Version: st.App.Version}, nil
}

// PutApp replaces or partially updates an app (creating it when missing,
// as Marathon's PUT does).
func (t *Term) PutApp(ctx context.Context, id string, body []byte) (DeploymentRef, bool, error) {
	t.mu.Lock()
	if !t.leading {
		t.mu.Unlock()
		return DeploymentRef{}, false, errNotLeading
	}
	cur, exists := t.apps.App(id)
	t.mu.Unlock()
	if !exists && !fullDefinition(body) {
		// A partial update ({"instances": 2}) of an app that does not
		// exist: say so, rather than report the fields it lacks to be
		// created.
		return DeploymentRef{}, false, apps.NotFound(id)
	}
	var (
		next apps.App
		err  error
	)
	if exists {
		next, err = overlay(cur.App, body)
	} else {
		next, err = overlay(apps.NewApp(id), body)
	}
	if err != nil {
		return DeploymentRef{}, false, &inputError{err: fmt.Errorf("app %q: %w", id, err)}
	}
	if next.ID != id {
		return DeploymentRef{}, false, &inputError{err: fmt.Errorf("app id %q in the body differs from %q in the path", next.ID, id)}
	}
	if !exists {
		st, dep, err := t.CreateApp(ctx, next)
		_ = st
		return dep, true, err
	}
	t.mu.Lock()
	if !t.leading {
		t.mu.Unlock()
		return DeploymentRef{}, false, errNotLeading
	}
	prev, _ := t.apps.App(id)
	dep, err := t.apps.UpdateApp(next, t.cfg.Clock.Now())
	if err != nil {
		t.mu.Unlock()
		return DeploymentRef{}, false, err
	}
	st, _ := t.apps.App(id)
	t.mu.Unlock()
	if err := t.persistApp(ctx, st.App); err != nil {
		t.mu.Lock()
		if t.leading {
			_, _ = t.apps.UpdateApp(prev.App, t.cfg.Clock.Now())
		}
		t.mu.Unlock()
		return DeploymentRef{}, false, err
	}
	t.log.Info("app updated", "app", id, "instances", st.App.Instances, "version", st.App.Version)
	return DeploymentRef{DeploymentID: dep.ID, Version: st.App.Version}, false, nil
}

// RestartApp replaces every task of the app.
func (t *Term) RestartApp(ctx context.Context, id string) (DeploymentRef, error) {
	t.mu.Lock()
	if !t.leading {
		t.mu.Unlock()
		return DeploymentRef{}, errNotLeading
	}
	dep, err := t.apps.Restart(id, t.cfg.Clock.Now())
	if err != nil {
		t.mu.Unlock()
		return DeploymentRef{}, err
	}
	st, _ := t.apps.App(id)
	t.mu.Unlock()
	if err := t.persistApp(ctx, st.App); err != nil {
		return DeploymentRef{}, err
	}
	return DeploymentRef{DeploymentID: dep.ID, Version: st.App.Version}, nil
}

// DeleteApp removes the app from the store, then kills its tasks.
func (t *Term) DeleteApp(ctx context.Context, id string) (DeploymentRef, error) {
	t.mu.Lock()
	if !t.leading {
		t.mu.Unlock()
		return DeploymentRef{}, errNotLeading
	}
	st, ok := t.apps.App(id)
	t.mu.Unlock()
	if !ok {
		return DeploymentRef{}, apps.NotFound(id)
	}
	sctx, cancel := t.storeCtx(ctx)
	defer cancel()
	if err := t.cfg.Store.Docs(store.Apps).Delete(sctx, id, t.cfg.Guard()); err != nil {
		return DeploymentRef{}, fmt.Errorf("%w: %w", errStore, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.leading {
		return DeploymentRef{}, errNotLeading
	}
	kills, err := t.apps.DeleteApp(id, t.cfg.Clock.Now())
	if err != nil {
		return DeploymentRef{}, err
	}
	for _, k := range kills {
		t.kill(k, "", "")
	}
	t.log.Info("app deleted", "app", id, "tasks_killed", len(kills))
	return DeploymentRef{DeploymentID: "delete-" + id, Version: st.App.Version}, nil
}

// AppStatuses lists every app.
func (t *Term) AppStatuses() ([]apps.AppStatus, error) {
	return leaderView(t, func() []apps.AppStatus { return t.apps.Apps() })
}

// AppStatus returns one app.
func (t *Term) AppStatus(id string) (apps.AppStatus, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.leading {
		return apps.AppStatus{}, errNotLeading
	}
	st, ok := t.apps.App(id)
	if !ok {
		return apps.AppStatus{}, apps.NotFound(id)
	}
	return st, nil
}

// AppTasks lists an app's tasks in Marathon's shape.
func (t *Term) AppTasks(id string) ([]AppTask, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.leading {
		return nil, errNotLeading
	}
	if _, ok := t.apps.App(id); !ok {
		return nil, apps.NotFound(id)
	}
	out := []AppTask{}
	for _, task := range t.apps.Tasks(id) {
		at := AppTask{ID: task.ID, AppID: task.AppID, Host: task.Hostname, AgentID: task.AgentID, State: string(task.State),
			Version: task.Version, Healthy: task.Healthy}
		if !task.StagedAt.IsZero() {
			at.StagedAt = task.StagedAt.UTC().Format("2006-01-02T15:04:05.000Z")
		}
		if !task.StartedAt.IsZero() {
			at.StartedAt = task.StartedAt.UTC().Format("2006-01-02T15:04:05.000Z")
		}
		out = append(out, at)
	}
	return out, nil
}

// AppTaskList is an app's tasks, for the Marathon API's views.
func (t *Term) AppTaskList(id string) ([]apps.Task, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.leading {
		return nil, errNotLeading
	}
	if _, ok := t.apps.App(id); !ok {
		return nil, apps.NotFound(id)
	}
	return t.apps.Tasks(id), nil
}

// Deployments lists deployments in progress.
func (t *Term) Deployments() ([]apps.Deployment, error) {
	return leaderView(t, func() []apps.Deployment { return t.apps.Deployments() })
}

// fullDefinition reports whether a PUT body can create an app: it says
// what to run. A body that does not parse counts as one, so that its
// syntax error is what the answer reports.
func fullDefinition(body []byte) bool {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return true
	}
	_, cmd := fields["cmd"]
	_, args := fields["args"]
	return cmd || args
}
