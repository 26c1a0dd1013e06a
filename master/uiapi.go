package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/httpserver"
	"github.com/headroom-dev/headroom/master/ui"
)

// maxOverrideBody caps a reservation override passed on to an agent, as
// the agent caps it.
const maxOverrideBody = 1 << 20

// uiRoutes serves the web UI (master/ui) and what it needs beyond the
// other routes: the history, and the agents' APIs reached through the
// master, with the master's agent credential, for callers who hold a
// master credential only.
//
//	GET    /ui/                              the web UI's pages
//	GET    /api/v1/history                   the cluster's figures over time (?agent=ID: one agent's)
//	GET    /api/v1/tasks/{id}/files          a task's sandbox listing (?path=DIR)
//	GET    /api/v1/tasks/{id}/files/read     a chunk of a task's file (?path=F&offset=N&length=M)
//	GET    /api/v1/agents/{id}/state         the agent's estimate, override and applied reservation
//	PUT    /api/v1/agents/{id}/reservation   set the agent's operator override
//	DELETE /api/v1/agents/{id}/reservation   clear it
func (m *Master) uiRoutes(mux *routeMux) {
	// The pages themselves: public, as they hold no data; a standby
	// redirects them to the leader as it does the API.
	mux.Handle("GET "+ui.Prefix, ui.Handler())
	mux.HandleFunc("GET /api/v1/history", func(w http.ResponseWriter, r *http.Request) {
		if !m.Leading() || m.history == nil {
			unavailable(w, "history", errNotLeading.Error())
			return
		}
		m.history.Handler()(w, r)
	})
	mux.HandleFunc("GET /api/v1/tasks/{id}/files", m.taskFiles(""))
	mux.HandleFunc("GET /api/v1/tasks/{id}/files/read", m.taskFiles("/read"))
	mux.HandleFunc("GET /api/v1/agents/{id}/state", func(w http.ResponseWriter, r *http.Request) {
		var state map[string]json.RawMessage
		if !m.callAgent(w, r, r.PathValue("id"), http.MethodGet, "/api/v1/state", nil, &state) {
			return
		}
		// The tasks (with their environment) are the master's to show,
		// redacted for readers, on /api/v1/tasks; the agent's view of its
		// masters is its own business.
		delete(state, "tasks")
		delete(state, "master")
		httpserver.WriteJSON(w, http.StatusOK, state)
	})
	mux.HandleFunc("PUT /api/v1/agents/{id}/reservation", func(w http.ResponseWriter, r *http.Request) {
		body, err := readAll(r.Body, maxOverrideBody)
		if err != nil {
			httpserver.BodyError(w, "invalid reservation override", err)
			return
		}
		var out json.RawMessage
		if m.callAgent(w, r, r.PathValue("id"), http.MethodPut, "/api/v1/reservation", body, &out) {
			httpserver.WriteJSON(w, http.StatusOK, out)
		}
	})
	mux.HandleFunc("DELETE /api/v1/agents/{id}/reservation", func(w http.ResponseWriter, r *http.Request) {
		var out json.RawMessage
		if m.callAgent(w, r, r.PathValue("id"), http.MethodDelete, "/api/v1/reservation", nil, &out) {
			httpserver.WriteJSON(w, http.StatusOK, out)
		}
	})
}

// taskFiles passes a file request on to the agent running the task.
func (m *Master) taskFiles(sub string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		agentID, err := m.taskAgent(id)
		if err != nil {
			writeErr(w, "task files", err)
			return
		}
		q := url.Values{}
		for _, k := range []string{"path", "offset", "length"} {
			if v := r.URL.Query().Get(k); v != "" {
				q.Set(k, v)
			}
		}
		path := "/api/v1/tasks/" + url.PathEscape(id) + "/files" + sub
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		var out json.RawMessage
		if m.callAgent(w, r, agentID, http.MethodGet, path, nil, &out) {
			httpserver.WriteJSON(w, http.StatusOK, out)
		}
	}
}

// taskAgent is the id of the agent a task runs (or ran) on.
func (m *Master) taskAgent(taskID string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return "", errNotLeading
	}
	t, ok := m.tasks[taskID]
	if !ok {
		return "", fmt.Errorf("task %q: %w", taskID, errNotFound)
	}
	return t.AgentID, nil
}

// agentURL is the API address of a known agent.
func (m *Master) agentURL(agentID string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return "", errNotLeading
	}
	ag, ok := m.agents[agentID]
	if !ok {
		return "", fmt.Errorf("agent %q: %w", agentID, errNotFound)
	}
	return ag.URL, nil
}

// callAgent makes one call to an agent's API and answers w itself unless
// the call succeeded: the agent's own error answer passes through (a bad
// path is the caller's 400, not the master's), an agent that does not
// answer is 502.
func (m *Master) callAgent(w http.ResponseWriter, r *http.Request, agentID, method, path string, body []byte, out any) bool {
	u, err := m.agentURL(agentID)
	if err != nil {
		writeErr(w, "agent", err)
		return false
	}
	var in any
	if body != nil {
		in = body
	}
	ctx, cancel := context.WithTimeout(r.Context(), m.cfg.StoreTimeout+m.cfg.AgentTimeout)
	defer cancel()
	err = m.agentAt(u).Do(ctx, method, path, in, out)
	var se *agentproto.StatusError
	switch {
	case err == nil:
		return true
	case errors.As(err, &se) && passThrough(se.Code):
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(se.Code)
		_, _ = w.Write([]byte(se.Raw))
	default:
		httpserver.WriteError(w, http.StatusBadGateway, "agent "+agentID+" did not answer", err.Error())
	}
	return false
}

// passThrough are the agent's answers about the request itself; its 401
// or 403 would be about the master's credential, which the caller cannot
// fix.
func passThrough(code int) bool {
	switch code {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict,
		http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return true
	}
	return false
}
