package master

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/headroom-dev/headroom/api/marathon"
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
func (m *Master) loadApps(ctx context.Context) (*apps.Scheduler, error) {
	// Random task id suffixes: a new leader's must never collide with tasks
	// the agents have not re-reported yet.
	sched := apps.NewScheduler(apps.Config{FrameworkID: AppsFrameworkID, NewID: randomSuffix})
	var loaded []apps.App
	if err := m.cfg.Store.Docs(store.Apps).List(ctx, func(_ string, raw []byte) error {
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
func (m *Master) CreateApp(ctx context.Context, app apps.App) (apps.AppStatus, DeploymentRef, error) {
	m.mu.Lock()
	if !m.leading {
		m.mu.Unlock()
		return apps.AppStatus{}, DeploymentRef{}, errNotLeading
	}
	dep, err := m.apps.CreateApp(app, m.cfg.Clock.Now())
	if err != nil {
		m.mu.Unlock()
		return apps.AppStatus{}, DeploymentRef{}, err
	}
	st, _ := m.apps.App(app.ID)
	m.mu.Unlock()
	if err := m.persistApp(ctx, st.App); err != nil {
		m.mu.Lock()
		if m.leading {
			_, _ = m.apps.DeleteApp(st.App.ID, m.cfg.Clock.Now())
		}
		m.mu.Unlock()
		return apps.AppStatus{}, DeploymentRef{}, err
	}
	m.log.Info("app created", "app", st.App.ID, "instances", st.App.Instances)
	return st, DeploymentRef{DeploymentID: dep.ID, Version: st.App.Version}, nil
}

// PutApp replaces or partially updates an app (creating it when missing,
// as Marathon's PUT does).
func (m *Master) PutApp(ctx context.Context, id string, body []byte) (DeploymentRef, bool, error) {
	m.mu.Lock()
	if !m.leading {
		m.mu.Unlock()
		return DeploymentRef{}, false, errNotLeading
	}
	cur, exists := m.apps.App(id)
	m.mu.Unlock()
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
		st, dep, err := m.CreateApp(ctx, next)
		_ = st
		return dep, true, err
	}
	m.mu.Lock()
	if !m.leading {
		m.mu.Unlock()
		return DeploymentRef{}, false, errNotLeading
	}
	prev, _ := m.apps.App(id)
	dep, err := m.apps.UpdateApp(next, m.cfg.Clock.Now())
	if err != nil {
		m.mu.Unlock()
		return DeploymentRef{}, false, err
	}
	st, _ := m.apps.App(id)
	m.mu.Unlock()
	if err := m.persistApp(ctx, st.App); err != nil {
		m.mu.Lock()
		if m.leading {
			_, _ = m.apps.UpdateApp(prev.App, m.cfg.Clock.Now())
		}
		m.mu.Unlock()
		return DeploymentRef{}, false, err
	}
	m.log.Info("app updated", "app", id, "instances", st.App.Instances, "version", st.App.Version)
	return DeploymentRef{DeploymentID: dep.ID, Version: st.App.Version}, false, nil
}

// RestartApp replaces every task of the app.
func (m *Master) RestartApp(ctx context.Context, id string) (DeploymentRef, error) {
	m.mu.Lock()
	if !m.leading {
		m.mu.Unlock()
		return DeploymentRef{}, errNotLeading
	}
	dep, err := m.apps.Restart(id, m.cfg.Clock.Now())
	if err != nil {
		m.mu.Unlock()
		return DeploymentRef{}, err
	}
	st, _ := m.apps.App(id)
	m.mu.Unlock()
	if err := m.persistApp(ctx, st.App); err != nil {
		return DeploymentRef{}, err
	}
	return DeploymentRef{DeploymentID: dep.ID, Version: st.App.Version}, nil
}

// DeleteApp removes the app from the store, then kills its tasks.
func (m *Master) DeleteApp(ctx context.Context, id string) (DeploymentRef, error) {
	m.mu.Lock()
	if !m.leading {
		m.mu.Unlock()
		return DeploymentRef{}, errNotLeading
	}
	st, ok := m.apps.App(id)
	m.mu.Unlock()
	if !ok {
		return DeploymentRef{}, apps.NotFound(id)
	}
	sctx, cancel := m.storeCtx(ctx)
	defer cancel()
	if err := m.cfg.Store.Docs(store.Apps).Delete(sctx, id, m.election.Guard()); err != nil {
		return DeploymentRef{}, fmt.Errorf("%w: %w", errStore, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return DeploymentRef{}, errNotLeading
	}
	kills, err := m.apps.DeleteApp(id, m.cfg.Clock.Now())
	if err != nil {
		return DeploymentRef{}, err
	}
	for _, k := range kills {
		m.kill(k, "", "")
	}
	m.log.Info("app deleted", "app", id, "tasks_killed", len(kills))
	return DeploymentRef{DeploymentID: "delete-" + id, Version: st.App.Version}, nil
}

// AppStatuses lists every app.
func (m *Master) AppStatuses() ([]apps.AppStatus, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return nil, errNotLeading
	}
	return m.apps.Apps(), nil
}

// AppStatus returns one app.
func (m *Master) AppStatus(id string) (apps.AppStatus, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return apps.AppStatus{}, errNotLeading
	}
	st, ok := m.apps.App(id)
	if !ok {
		return apps.AppStatus{}, apps.NotFound(id)
	}
	return st, nil
}

// AppTasks lists an app's tasks in Marathon's shape.
func (m *Master) AppTasks(id string) ([]AppTask, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return nil, errNotLeading
	}
	if _, ok := m.apps.App(id); !ok {
		return nil, apps.NotFound(id)
	}
	out := []AppTask{}
	for _, t := range m.apps.Tasks(id) {
		at := AppTask{ID: t.ID, AppID: t.AppID, Host: t.Hostname, AgentID: t.AgentID, State: string(t.State),
			Version: t.Version, Healthy: t.Healthy}
		if !t.StagedAt.IsZero() {
			at.StagedAt = t.StagedAt.UTC().Format("2006-01-02T15:04:05.000Z")
		}
		if !t.StartedAt.IsZero() {
			at.StartedAt = t.StartedAt.UTC().Format("2006-01-02T15:04:05.000Z")
		}
		out = append(out, at)
	}
	return out, nil
}

// AppTaskList is an app's tasks, for the Marathon API's views.
func (m *Master) AppTaskList(id string) ([]apps.Task, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return nil, errNotLeading
	}
	if _, ok := m.apps.App(id); !ok {
		return nil, apps.NotFound(id)
	}
	return m.apps.Tasks(id), nil
}

// wire is the deployment as the Marathon API answers it.
func (d DeploymentRef) wire() marathon.DeploymentResult {
	return marathon.DeploymentResult{DeploymentID: d.DeploymentID, Version: d.Version}
}

// Deployments lists deployments in progress.
func (m *Master) Deployments() ([]apps.Deployment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return nil, errNotLeading
	}
	return m.apps.Deployments(), nil
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
