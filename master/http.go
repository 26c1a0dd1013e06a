package master

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/internal/auth"
	"github.com/headroom-dev/headroom/internal/httpserver"
	"github.com/headroom-dev/headroom/master/apps"
	"github.com/headroom-dev/headroom/master/store"
)

// MaxBodyBytes caps every request body to the master (the server's limit);
// registrations with many tasks are the largest legitimate ones.
const MaxBodyBytes = 8 << 20

// maxBody is the limit of the decoders.
const maxBody = MaxBodyBytes

// Handler serves the master's API. A standby answers every call but
// /metrics, /healthz and /api/v1/leader with a 307 to the leader, so
// clients configured with any master reach the right one.
//
//	POST /api/v1/agents/register          agent registration
//	POST /api/v1/agents/{id}/heartbeat    agent heartbeat
//	GET  /api/v1/agents                   the registry
//	PUT  /api/v1/agents/{id}/attributes   the dynamic attributes of its host
//	GET  /api/v1/tasks                    every task
//	POST /api/v1/tasks/{id}/kill          kill a task
//	GET  /api/v1/leader                   the leader's URL
//	GET  /api/v1/state                    the cluster summary
//	POST /api/v1/scheduler                the framework API (api/scheduler)
//	GET  /api/v1/frameworks               the external frameworks (a framework credential: its own)
//	POST /api/v1/frameworks/{id}/teardown remove a framework, kill its tasks
//	/v2/apps, /v2/deployments             Marathon-style apps
//	/v1/jobs                              Metronome-style periodic jobs
func (m *Master) Handler(metrics http.Handler) http.Handler {
	h, _ := m.routes(metrics)
	return h
}

// routes builds the handler and lists the patterns it routes.
func (m *Master) routes(metrics http.Handler) (http.Handler, []string) {
	mux := newRouteMux()
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /api/v1/leader", func(w http.ResponseWriter, _ *http.Request) {
		leader, err := m.knownLeader()
		body := map[string]any{"leader": leader, "self": m.cfg.AdvertiseURL, "leading": m.Leading()}
		if err != nil {
			body["error"] = err.Error()
			w.Header().Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
			httpserver.WriteJSON(w, http.StatusServiceUnavailable, body)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, body)
	})
	mux.HandleFunc("POST /api/v1/agents/register", func(w http.ResponseWriter, r *http.Request) {
		var req agentproto.RegisterRequest
		if !decode(w, r, &req) {
			return
		}
		resp, err := m.Register(r.Context(), req)
		if err != nil {
			writeErr(w, "registration refused", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, resp)
	})
	mux.HandleFunc("POST /api/v1/agents/{id}/heartbeat", func(w http.ResponseWriter, r *http.Request) {
		var hb agentproto.Heartbeat
		if !decode(w, r, &hb) {
			return
		}
		if hb.AgentID != r.PathValue("id") {
			httpserver.WriteError(w, http.StatusBadRequest, "invalid heartbeat",
				fmt.Sprintf("agent_id %q does not match the path's %q", hb.AgentID, r.PathValue("id")))
			return
		}
		if err := m.checkAgentCaller(r.Context(), hb.AgentID); err != nil {
			writeErr(w, "heartbeat refused", err)
			return
		}
		resp, err := m.Heartbeat(hb)
		if err != nil {
			writeErr(w, "heartbeat refused", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, resp)
	})
	mux.HandleFunc("GET /api/v1/agents", func(w http.ResponseWriter, _ *http.Request) {
		respond(w, m.Agents)
	})
	mux.HandleFunc("PUT /api/v1/agents/{id}/attributes", func(w http.ResponseWriter, r *http.Request) {
		attrs, err := api.DecodeAttributes(r.Body, maxBody)
		if err != nil {
			httpserver.BodyError(w, "invalid attributes", err)
			return
		}
		v, err := m.SetAgentAttributes(r.Context(), r.PathValue("id"), attrs)
		if err != nil {
			writeErr(w, "attributes not set", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, v)
	})
	mux.HandleFunc("GET /api/v1/tasks", func(w http.ResponseWriter, _ *http.Request) {
		respond(w, m.Tasks)
	})
	mux.HandleFunc("POST /api/v1/tasks/{id}/kill", func(w http.ResponseWriter, r *http.Request) {
		if err := m.KillTask(r.PathValue("id")); err != nil {
			writeErr(w, "kill refused", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusAccepted, map[string]string{"task_id": r.PathValue("id")})
	})
	mux.HandleFunc("GET /api/v1/state", func(w http.ResponseWriter, _ *http.Request) {
		respond(w, m.Summary)
	})
	mux.HandleFunc("POST "+scheduler.Path, m.serveScheduler)
	mux.HandleFunc("GET /api/v1/frameworks", func(w http.ResponseWriter, r *http.Request) {
		if who, ok := auth.FromContext(r.Context()); ok && who.Role == auth.Framework {
			respond(w, func() ([]FrameworkView, error) { return m.frameworksOf(who.Credential) })
			return
		}
		respond(w, m.Frameworks)
	})
	mux.HandleFunc("POST /api/v1/frameworks/{id}/teardown", func(w http.ResponseWriter, r *http.Request) {
		if err := m.TeardownFramework(r.PathValue("id")); err != nil {
			writeErr(w, "teardown refused", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusAccepted, map[string]string{"framework_id": r.PathValue("id")})
	})
	m.appsRoutes(mux)
	m.jobRoutes(mux)
	m.uiRoutes(mux)
	return m.authorize(mux, m.redirectStandby(mux)), mux.patterns
}

// redirectStandby sends API calls made to a standby to the leader.
func (m *Master) redirectStandby(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/metrics", "/healthz", "/api/v1/leader":
			next.ServeHTTP(w, r)
			return
		}
		if m.Leading() {
			next.ServeHTTP(w, r)
			return
		}
		leader, err := m.knownLeader()
		if err != nil || leader == "" || leader == m.cfg.AdvertiseURL {
			unavailable(w, "no leader known; retry shortly", errString(err))
			return
		}
		http.Redirect(w, r, leader+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := api.DecodeStrict(r.Body, v, maxBody); err != nil {
		httpserver.BodyError(w, "invalid request body", err)
		return false
	}
	return true
}

func respond[T any](w http.ResponseWriter, f func() (T, error)) {
	v, err := f()
	if err != nil {
		writeErr(w, "request failed", err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, v)
}

// writeErr maps errors onto status codes: bad input 4xx, leadership lost
// 503, everything else 500.
func writeErr(w http.ResponseWriter, msg string, err error) {
	var ve *apps.ValidationError
	var re *refusedError
	switch {
	case errors.As(err, &re):
		httpserver.WriteError(w, http.StatusForbidden, msg, err.Error())
	case errors.As(err, &ve):
		httpserver.WriteJSON(w, http.StatusUnprocessableEntity, ve)
	case errors.Is(err, errNotLeading):
		unavailable(w, msg, err.Error())
	case errors.Is(err, apps.ErrNotFound):
		// The whole message: "app /web not found" says it all.
		httpserver.WriteError(w, http.StatusNotFound, err.Error(), nil)
	case errors.Is(err, errUnknownAgent), errors.Is(err, errNotFound):
		httpserver.WriteError(w, http.StatusNotFound, msg, err.Error())
	case errors.Is(err, apps.ErrExists):
		httpserver.WriteError(w, http.StatusConflict, msg, err.Error())
	case errors.Is(err, errStore):
		unavailable(w, msg, err.Error())
	case errors.Is(err, errBadRequest):
		httpserver.WriteError(w, http.StatusUnprocessableEntity, msg, err.Error())
	default:
		var ie *inputError
		if errors.As(err, &ie) {
			httpserver.WriteError(w, http.StatusUnprocessableEntity, msg, err.Error())
			return
		}
		httpserver.WriteError(w, http.StatusInternalServerError, msg, err.Error())
	}
}

var (
	errStore      = errors.New("state store unavailable")
	errBadRequest = errors.New("bad request")
)

// inputError marks validation failures of agent-protocol requests.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

// appsRoutes serves the Marathon-style API. App ids contain slashes, so
// /v2/apps/ is routed by hand: a trailing /restart or /tasks names a
// sub-resource, the rest is the id.
func (m *Master) appsRoutes(mux *routeMux) {
	mux.HandleFunc("GET /v2/apps", func(w http.ResponseWriter, r *http.Request) {
		list, err := m.AppStatuses()
		if err != nil {
			writeErr(w, "listing apps", err)
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
		st, dep, err := m.CreateApp(r.Context(), app)
		if err != nil {
			writeErr(w, "app not created", err)
			return
		}
		v := toAppView(st)
		v.Deployments = []map[string]string{{"id": dep.DeploymentID}}
		httpserver.WriteJSON(w, http.StatusCreated, v)
	})
	// Without it the mux would redirect other methods to /v2/apps/.
	mux.HandleFunc("/v2/apps", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, POST")
		httpserver.WriteError(w, http.StatusMethodNotAllowed, "method not allowed", r.Method+" "+r.URL.Path)
	})
	mux.HandleFunc("GET /v2/deployments", func(w http.ResponseWriter, _ *http.Request) {
		respond(w, m.Deployments)
	})
	mux.HandleFunc("/v2/apps/", func(w http.ResponseWriter, r *http.Request) {
		rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/v2/apps/"), "/")
		id, sub := rest, ""
		for _, s := range []string{"restart", "tasks"} {
			if strings.HasSuffix(rest, "/"+s) {
				id, sub = strings.TrimSuffix(rest, "/"+s), s
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
			if _, err := m.AppStatus(id); err != nil {
				writeErr(w, "app", err)
				return
			}
		}
		switch {
		case sub == "restart" && r.Method == http.MethodPost:
			dep, err := m.RestartApp(r.Context(), id)
			if err != nil {
				writeErr(w, "restart refused", err)
				return
			}
			httpserver.WriteJSON(w, http.StatusOK, dep)
		case sub == "tasks" && r.Method == http.MethodGet:
			tasks, err := m.AppTasks(id)
			if err != nil {
				writeErr(w, "listing tasks", err)
				return
			}
			httpserver.WriteJSON(w, http.StatusOK, map[string]any{"tasks": tasks})
		case sub == "" && r.Method == http.MethodGet:
			st, err := m.AppStatus(id)
			if err != nil {
				writeErr(w, "app", err)
				return
			}
			httpserver.WriteJSON(w, http.StatusOK, map[string]any{"app": appViewFor(r, toAppView(st))})
		case sub == "" && (r.Method == http.MethodPut || r.Method == http.MethodPatch):
			body, err := readAll(r.Body, apps.MaxBodyBytes)
			if err != nil {
				httpserver.BodyError(w, "invalid app definition", err)
				return
			}
			dep, created, err := m.PutApp(r.Context(), id, body)
			if err != nil {
				// PUT creates or updates: "deployed" is true of both.
				writeErr(w, "app not deployed", err)
				return
			}
			code := http.StatusOK
			if created {
				code = http.StatusCreated
			}
			httpserver.WriteJSON(w, code, dep)
		case sub == "" && r.Method == http.MethodDelete:
			dep, err := m.DeleteApp(r.Context(), id)
			if err != nil {
				writeErr(w, "app not deleted", err)
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
	})
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

func (m *Master) persistApp(ctx context.Context, app apps.App) error {
	ctx, cancel := m.storeCtx(ctx)
	defer cancel()
	if err := m.cfg.Store.Docs(store.Apps).Put(ctx, app.ID, app, m.election.Guard()); err != nil {
		return fmt.Errorf("%w: %w", errStore, err)
	}
	return nil
}

// overlay applies a partial JSON definition (PUT {"instances": 5}) over
// the current one, as Marathon does.
//
// The body must be an object naming at least one field: null or {} would
// otherwise roll out the current definition again as a new deployment (or
// create an app of defaults).
func overlay(cur apps.App, patch []byte) (apps.App, error) {
	if t := bytes.TrimSpace(patch); len(t) == 0 || t[0] != '{' {
		return apps.App{}, emptyBody("must be a JSON object of the fields to set, got " + truncateBody(t))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(patch, &fields); err != nil {
		return apps.App{}, fmt.Errorf("malformed JSON: %w", err)
	}
	if len(fields) == 0 {
		return apps.App{}, emptyBody("must set at least one field, got {}")
	}
	base, err := json.Marshal(cur)
	if err != nil {
		return apps.App{}, err
	}
	var merged map[string]json.RawMessage
	if err := json.Unmarshal(base, &merged); err != nil {
		return apps.App{}, err
	}
	for k, v := range fields {
		merged[k] = v
	}
	delete(merged, "version")
	out, err := json.Marshal(merged)
	if err != nil {
		return apps.App{}, err
	}
	return apps.DecodeApp(bytes.NewReader(out))
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

// emptyBody is the validation error of a body that sets nothing.
func emptyBody(msg string) error {
	return &apps.ValidationError{Message: "Object is not valid", Details: []apps.FieldError{{Path: "/", Errors: []string{msg}}}}
}

// truncateBody quotes the start of a body for an error message.
func truncateBody(b []byte) string {
	if len(b) == 0 {
		return "an empty body"
	}
	if len(b) > 40 {
		return fmt.Sprintf("%q...", b[:40])
	}
	return fmt.Sprintf("%q", b)
}
