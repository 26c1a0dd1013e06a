package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/headroom-dev/headroom/internal/httpserver"
	"github.com/headroom-dev/headroom/master/apps"
)

// appsRoutes serves the Marathon-style API. App ids contain slashes, so
// /v2/apps/ is routed by hand: a trailing /restart or /tasks names a
// sub-resource, the rest is the id.
func (s *server) appsRoutes(mux *routeMux) {
	mux.HandleFunc("GET /v2/apps", func(w http.ResponseWriter, r *http.Request) {
		list, err := s.b.AppStatuses()
		if err != nil {
			s.writeErr(w, "listing apps", err)
			return
		}
		views := make([]appView, 0, len(list))
		for _, st := range list {
			views = append(views, appViewFor(r, toAppView(st)))
		}
		httpserver.WriteJSON(w, http.StatusOK, map[string]any{"apps": views})
	})
	mux.HandleFunc("POST /v2/apps", func(w http.ResponseWriter, r *http.Request) {
		app, err := apps.DecodeApp(r.Body)
		if err != nil {
			httpserver.BodyError(w, "invalid app definition", err)
			return
		}
		st, deploymentID, err := s.b.CreateApp(r.Context(), app)
		if err != nil {
			s.writeErr(w, "app not created", err)
			return
		}
		v := toAppView(st)
		v.Deployments = []map[string]string{{"id": deploymentID}}
		httpserver.WriteJSON(w, http.StatusCreated, v)
	})
	// Without it the mux would redirect other methods to /v2/apps/.
	mux.HandleFunc("/v2/apps", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, POST")
		httpserver.WriteError(w, http.StatusMethodNotAllowed, "method not allowed", r.Method+" "+r.URL.Path)
	})
	mux.HandleFunc("GET /v2/deployments", func(w http.ResponseWriter, _ *http.Request) {
		s.respond(w, s.b.Deployments)
	})
	mux.HandleFunc("/v2/apps/", s.serveApp)
}

// serveApp is every route under /v2/apps/: one app and its sub-resources.
func (s *server) serveApp(w http.ResponseWriter, r *http.Request) {
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/v2/apps/"), "/")
	id, sub := rest, ""
	for _, sr := range []string{"restart", "tasks"} {
		if strings.HasSuffix(rest, "/"+sr) {
			id, sub = strings.TrimSuffix(rest, "/"+sr), sr
		}
	}
	id = apps.NormalizeID(id)
	if id == "" {
		httpserver.WriteError(w, http.StatusNotFound, "no app id in the path", r.URL.Path)
		return
	}
	// Every route but the PUT that may create the app answers 404
	// for an app that does not exist before it looks at the method
	// or the body: "app /nope not found" is what the caller needs.
	if !(sub == "" && r.Method == http.MethodPut) {
		if _, err := s.b.AppStatus(id); err != nil {
			s.writeErr(w, "app", err)
			return
		}
	}
	switch {
	case sub == "restart" && r.Method == http.MethodPost:
		dep, err := s.b.RestartApp(r.Context(), id)
		if err != nil {
			s.writeErr(w, "restart refused", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, dep)
	case sub == "tasks" && r.Method == http.MethodGet:
		tasks, err := s.b.AppTasks(id)
		if err != nil {
			s.writeErr(w, "listing tasks", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, map[string]any{"tasks": tasks})
	case sub == "" && r.Method == http.MethodGet:
		st, err := s.b.AppStatus(id)
		if err != nil {
			s.writeErr(w, "app", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, map[string]any{"app": appViewFor(r, toAppView(st))})
	case sub == "" && (r.Method == http.MethodPut || r.Method == http.MethodPatch):
		body, err := readAll(r.Body, apps.MaxBodyBytes)
		if err != nil {
			httpserver.BodyError(w, "invalid app definition", err)
			return
		}
		dep, created, err := s.b.PutApp(r.Context(), id, body)
		if err != nil {
			// PUT creates or updates: "deployed" is true of both.
			s.writeErr(w, "app not deployed", err)
			return
		}
		code := http.StatusOK
		if created {
			code = http.StatusCreated
		}
		httpserver.WriteJSON(w, code, dep)
	case sub == "" && r.Method == http.MethodDelete:
		dep, err := s.b.DeleteApp(r.Context(), id)
		if err != nil {
			s.writeErr(w, "app not deleted", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, dep)
	default:
		allow := "GET, PUT, PATCH, DELETE"
		switch sub {
		case "restart":
			allow = "POST"
		case "tasks":
			allow = "GET"
		}
		w.Header().Set("Allow", allow)
		httpserver.WriteError(w, http.StatusMethodNotAllowed, "method not allowed", r.Method+" "+r.URL.Path)
	}
}

// appView is an app as Marathon shows it: the definition plus counts.
type appView struct {
	apps.App
	TasksRunning   int                 `json:"tasksRunning"`
	TasksStaged    int                 `json:"tasksStaged"`
	TasksHealthy   int                 `json:"tasksHealthy"`
	TasksUnhealthy int                 `json:"tasksUnhealthy"`
	Waiting        int                 `json:"tasksWaiting"`
	Deployments    []map[string]string `json:"deployments"`
	LastFailure    string              `json:"lastTaskFailure,omitempty"`
	// Reason says why the waiting instances do not run, since
	// ReasonSince (headroom's addition to Marathon's shape).
	Reason      string    `json:"reason,omitempty"`
	ReasonSince time.Time `json:"reasonSince,omitzero"`
}

func toAppView(st apps.AppStatus) appView {
	v := appView{App: st.App, TasksRunning: st.TasksRunning, TasksStaged: st.TasksStaged,
		TasksHealthy: st.TasksHealthy, TasksUnhealthy: st.TasksUnhealthy, Waiting: st.Waiting,
		LastFailure: st.LastFailure, Deployments: []map[string]string{}, Reason: st.Reason, ReasonSince: st.ReasonSince}
	for _, d := range st.Deployments {
		v.Deployments = append(v.Deployments, map[string]string{"id": d})
	}
	return v
}

// readAll reads a body of at most limit bytes; a longer one is an
// *http.MaxBytesError naming limit.
func readAll(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("body larger than %d bytes: %w", limit, &http.MaxBytesError{Limit: limit})
	}
	return b, nil
}
