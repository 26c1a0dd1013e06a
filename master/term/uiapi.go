package term

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/headroom-dev/headroom/master/core"
)

// What the web UI's routes (master/httpapi/ui.go) call.

// TaskAgent is the id of the agent a task runs (or ran) on.
func (t *Term) TaskAgent(taskID string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.leading {
		return "", errNotLeading
	}
	// The core has no lookup of one task; a tail asks about once a
	// second, and a list of views costs little next to its answer.
	for _, task := range t.core.Tasks() {
		if task.ID == taskID {
			return task.AgentID, nil
		}
	}
	return "", fmt.Errorf("task %q: %w", taskID, errNotFound)
}

// CallAgent makes one call to a known agent's API with the master's agent
// credential. The agent's state is shown without its tasks: those (with
// their environment) are the master's to show, redacted for readers, on
// /api/v1/tasks; and without the agent's view of its masters.
func (t *Term) CallAgent(ctx context.Context, agentID, method, path string, body []byte) ([]byte, error) {
	t.mu.Lock()
	leading := t.leading
	var u string
	var ok bool
	if leading {
		var ag core.AgentView
		ag, ok = t.core.Agent(agentID)
		u = ag.URL
	}
	t.mu.Unlock()
	switch {
	case !leading:
		return nil, errNotLeading
	case !ok:
		return nil, fmt.Errorf("agent %q: %w", agentID, errNotFound)
	}
	ctx, cancel := context.WithTimeout(ctx, t.cfg.StoreTimeout+t.cfg.AgentTimeout)
	defer cancel()
	var in any
	if body != nil {
		in = body
	}
	var out json.RawMessage
	if err := t.cfg.Agent(u).Do(ctx, method, path, in, &out); err != nil {
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
