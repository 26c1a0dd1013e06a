package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/headroom-dev/headroom/master/core"
	"github.com/headroom-dev/headroom/master/history"
)

// What the web UI's routes (master/httpapi/ui.go) call.

// History is the cluster's history, or one agent's (404 without one).
func (b backend) History(agentID string) (any, error) {
	if !b.Leading() || b.history == nil {
		return nil, errNotLeading
	}
	if agentID == "" {
		return b.history.Cluster(), nil
	}
	v, err := b.history.Agent(agentID)
	if errors.Is(err, history.ErrUnknownAgent) {
		return nil, fmt.Errorf("%w: %w", errNotFound, err)
	}
	return v, err
}

// TaskAgent is the id of the agent a task runs (or ran) on.
func (b backend) TaskAgent(taskID string) (string, error) {
	m := b.Master
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return "", errNotLeading
	}
	// The core has no lookup of one task; a tail asks about once a
	// second, and a list of views costs little next to its answer.
	for _, t := range m.core.Tasks() {
		if t.ID == taskID {
			return t.AgentID, nil
		}
	}
	return "", fmt.Errorf("task %q: %w", taskID, errNotFound)
}

// CallAgent makes one call to a known agent's API with the master's agent
// credential. The agent's state is shown without its tasks: those (with
// their environment) are the master's to show, redacted for readers, on
// /api/v1/tasks; and without the agent's view of its masters.
func (b backend) CallAgent(ctx context.Context, agentID, method, path string, body []byte) ([]byte, error) {
	m := b.Master
	m.mu.Lock()
	leading := m.leading
	var u string
	var ok bool
	if leading {
		var ag core.AgentView
		ag, ok = m.core.Agent(agentID)
		u = ag.URL
	}
	m.mu.Unlock()
	switch {
	case !leading:
		return nil, errNotLeading
	case !ok:
		return nil, fmt.Errorf("agent %q: %w", agentID, errNotFound)
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.StoreTimeout+m.cfg.AgentTimeout)
	defer cancel()
	var in any
	if body != nil {
		in = body
	}
	var out json.RawMessage
	if err := m.agentAt(u).Do(ctx, method, path, in, &out); err != nil {
		return nil, fmt.Errorf("agent %q: %w", agentID, err)
	}
	if method == http.MethodGet && path == "/api/v1/state" {
		var state map[string]json.RawMessage
		if err := json.Unmarshal(out, &state); err != nil {
			return nil, fmt.Errorf("agent %q state: %w", agentID, err)
		}
		delete(state, "tasks")
		delete(state, "master")
		return json.Marshal(state)
	}
	return out, nil
}
