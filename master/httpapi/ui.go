package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/httpserver"
	"github.com/headroom-dev/headroom/master/history"
	"github.com/headroom-dev/headroom/master/ui"
)

// MaxOverrideBytes caps a reservation override passed on to an agent, as
// the agent caps it.
const MaxOverrideBytes = 1 << 20

// UI is what the web UI needs beyond the other routes.
type UI interface {
	// History is the cluster's figures over time (agentID ""), or one
	// agent's.
	History(agentID string) (history.View, error)
	// TaskAgent is the id of the agent a task runs or ran on.
	TaskAgent(taskID string) (string, error)
	// CallAgent makes one call to a known agent's API with the master's
	// agent credential and returns its answer; an answer other than 2xx
	// is an *agentproto.StatusError.
	CallAgent(ctx context.Context, agentID, method, path string, body []byte) ([]byte, error)
}

// uiRoutes serves the web UI (master/ui) and what it needs beyond the
// other routes: the history, and the agents' APIs reached through the
// master with the master's agent credential, for callers who hold a
// master credential only (docs/ui.md).
//
//	GET    /ui/                              the web UI's pages
//	GET    /api/v1/history                   the cluster's figures over time (?agent=ID: one agent's)
//	GET    /api/v1/tasks/{id}/files          a task's sandbox listing (?path=DIR)
//	GET    /api/v1/tasks/{id}/files/read     a chunk of a task's file (?path=F&offset=N&length=M)
//	GET    /api/v1/agents/{id}/state         the agent's estimate, override and applied reservation
//	PUT    /api/v1/agents/{id}/reservation   set the agent's operator override
//	DELETE /api/v1/agents/{id}/reservation   clear it
func (s *server) uiRoutes(mux *routeMux) {
	// The pages themselves: public, as they hold no data; a standby
	// redirects them to the leader as it does the API.
	mux.Handle("GET "+ui.Prefix, ui.Handler())
	mux.HandleFunc("GET /api/v1/history", func(w http.ResponseWriter, r *http.Request) {
		respond(s, w, func() (history.View, error) { return s.b.History(r.URL.Query().Get("agent")) })
	})
	mux.HandleFunc("GET /api/v1/tasks/{id}/files", s.taskFiles(""))
	mux.HandleFunc("GET /api/v1/tasks/{id}/files/read", s.taskFiles("/read"))
	mux.HandleFunc("GET /api/v1/agents/{id}/state", func(w http.ResponseWriter, r *http.Request) {
		s.passAgent(w, r, r.PathValue("id"), http.MethodGet, "/api/v1/state", nil)
	})
	mux.HandleFunc("PUT /api/v1/agents/{id}/reservation", func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r.Body, MaxOverrideBytes)
		if err != nil {
			httpserver.BodyError(w, "invalid reservation override", err)
			return
		}
		s.passAgent(w, r, r.PathValue("id"), http.MethodPut, "/api/v1/reservation", body)
	})
	mux.HandleFunc("DELETE /api/v1/agents/{id}/reservation", func(w http.ResponseWriter, r *http.Request) {
		s.passAgent(w, r, r.PathValue("id"), http.MethodDelete, "/api/v1/reservation", nil)
	})
}

// taskFiles passes a file request on to the agent of the task.
func (s *server) taskFiles(sub string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		agentID, err := s.b.TaskAgent(id)
		if err != nil {
			s.writeErr(w, "task files", err)
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
		s.passAgent(w, r, agentID, http.MethodGet, path, nil)
	}
}

// passAgent makes one call to an agent and answers with its answer: the
// agent's own error answer about the request passes through (a bad path
// is the caller's 400, not the master's); an agent that does not answer,
// or answers anything else, is 502.
func (s *server) passAgent(w http.ResponseWriter, r *http.Request, agentID, method, path string, body []byte) {
	out, err := s.b.CallAgent(r.Context(), agentID, method, path, body)
	var se *agentproto.StatusError
	switch {
	case err == nil:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	case errors.As(err, &se) && passThrough(se.Code):
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(se.Code)
		_, _ = w.Write([]byte(se.Raw))
	case errors.As(err, &se) || s.b.ErrorKind(err) == Internal:
		httpserver.WriteError(w, http.StatusBadGateway, "agent "+agentID+" did not answer", err.Error())
	default:
		s.writeErr(w, "agent", err)
	}
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

// readBody reads a body of at most limit bytes; a longer one is an
// *http.MaxBytesError naming limit (a 413).
func readBody(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("body larger than %d bytes: %w", limit, &http.MaxBytesError{Limit: limit})
	}
	return b, nil
}
