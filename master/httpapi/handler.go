package httpapi

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/internal/auth"
	"github.com/headroom-dev/headroom/internal/httpserver"
	"github.com/headroom-dev/headroom/master/apps"
	"github.com/headroom-dev/headroom/master/core"
)

// MaxBodyBytes caps every request body to the master (the server's limit);
// registrations with many tasks are the largest legitimate ones.
const MaxBodyBytes = 8 << 20

// maxBody is the limit of the decoders.
const maxBody = MaxBodyBytes

// retryAfter is the Retry-After of a 503: about one refresh of the
// leader and one election round.
const retryAfter = 2 * time.Second

// Config configures the API. Backend and Leader are required.
type Config struct {
	Backend Backend
	// Metrics serves GET /metrics; nil leaves the route out.
	Metrics http.Handler
	// Self is this master's advertised URL; Leader the leader's as known
	// now, or why it is not known. Leader must not wait on the store: a
	// standby's every answer needs it.
	Self   string
	Leader func() (string, error)
	// Credentials, when set, are required on every route but /metrics and
	// /healthz, each role on the routes RouteRules lets it call. Nil
	// serves everyone (--insecure).
	Credentials *auth.Set
	// Clock paces the scheduler streams' heartbeats (default real time);
	// Logger gets the refused calls (default: discarded).
	Clock  clockwork.Clock
	Logger *slog.Logger
	// AppsFrameworkID is the apps framework's id, for /v2/info.
	AppsFrameworkID string
}

// server is the handlers' shared state: the config, nothing mutable.
type server struct {
	cfg Config
	b   Backend
}

// New builds the master's handler and lists the patterns it routes. A
// standby answers every call but /metrics, /healthz and /api/v1/leader
// with a 307 to the leader, so clients configured with any master reach
// the right one.
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
//	GET  /api/v1/frameworks               the external frameworks (a framework credential: its own);
//	                                      ?builtin=true: the master's own first (an operator or reader)
//	POST /api/v1/frameworks/{id}/teardown remove a framework, kill its tasks
//	/ping, /v2/...                        Marathon's API (master/marathonapi)
//	/v1/jobs                              Metronome-style periodic jobs
//	/ui/ and its API                      the web UI (ui.go)
func New(cfg Config) (http.Handler, []string) {
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{cfg: cfg, b: cfg.Backend}
	mux := newRouteMux()
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", cfg.Metrics)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /api/v1/leader", s.serveLeader)
	s.agentRoutes(mux)
	mux.HandleFunc("POST "+scheduler.Path, s.serveScheduler)
	mux.HandleFunc("GET /api/v1/frameworks", func(w http.ResponseWriter, r *http.Request) {
		credential := ""
		if who, ok := auth.FromContext(r.Context()); ok && who.Role == auth.Framework {
			credential = who.Credential
		}
		builtin := false
		if v := r.URL.Query().Get("builtin"); v != "" {
			var err error
			if builtin, err = strconv.ParseBool(v); err != nil {
				httpserver.WriteError(w, http.StatusBadRequest, "invalid query", fmt.Sprintf("builtin: want true or false, got %q", v))
				return
			}
		}
		if builtin && credential == "" {
			// A framework's credential sees its own only: the master's
			// frameworks are not among them.
			respond(s, w, s.b.AllFrameworks)
			return
		}
		respond(s, w, func() ([]core.FrameworkView, error) { return s.b.Frameworks(credential) })
	})
	mux.HandleFunc("POST /api/v1/frameworks/{id}/teardown", func(w http.ResponseWriter, r *http.Request) {
		if err := s.b.TeardownFramework(r.PathValue("id")); err != nil {
			s.writeErr(w, "teardown refused", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusAccepted, map[string]string{"framework_id": r.PathValue("id")})
	})
	s.marathonRoutes(mux)
	s.jobRoutes(mux)
	s.uiRoutes(mux)
	return s.authorize(mux, s.redirectStandby(mux)), mux.patterns
}

// serveLeader is GET /api/v1/leader: who leads, from memory.
func (s *server) serveLeader(w http.ResponseWriter, _ *http.Request) {
	leader, err := s.cfg.Leader()
	body := map[string]any{"leader": leader, "self": s.cfg.Self, "leading": s.b.Leading()}
	if err != nil {
		body["error"] = err.Error()
		w.Header().Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
		httpserver.WriteJSON(w, http.StatusServiceUnavailable, body)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, body)
}

// agentRoutes serves the agent protocol and the operators' view of the
// agents and their tasks.
func (s *server) agentRoutes(mux *routeMux) {
	mux.HandleFunc("POST /api/v1/agents/register", func(w http.ResponseWriter, r *http.Request) {
		var req agentproto.RegisterRequest
		if !decode(w, r, &req) {
			return
		}
		resp, err := s.b.Register(r.Context(), req)
		if err != nil {
			s.writeErr(w, "registration refused", err)
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
		if err := s.b.CheckAgentCaller(r.Context(), hb.AgentID); err != nil {
			s.writeErr(w, "heartbeat refused", err)
			return
		}
		resp, err := s.b.Heartbeat(hb)
		if err != nil {
			s.writeErr(w, "heartbeat refused", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, resp)
	})
	mux.HandleFunc("GET /api/v1/agents", func(w http.ResponseWriter, _ *http.Request) {
		respond(s, w, s.b.Agents)
	})
	mux.HandleFunc("PUT /api/v1/agents/{id}/attributes", func(w http.ResponseWriter, r *http.Request) {
		attrs, err := api.DecodeAttributes(r.Body, maxBody)
		if err != nil {
			httpserver.BodyError(w, "invalid attributes", err)
			return
		}
		v, err := s.b.SetAgentAttributes(r.Context(), r.PathValue("id"), attrs)
		if err != nil {
			s.writeErr(w, "attributes not set", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, v)
	})
	mux.HandleFunc("GET /api/v1/tasks", func(w http.ResponseWriter, _ *http.Request) {
		respond(s, w, s.b.Tasks)
	})
	mux.HandleFunc("POST /api/v1/tasks/{id}/kill", func(w http.ResponseWriter, r *http.Request) {
		if err := s.b.KillTask(r.PathValue("id")); err != nil {
			s.writeErr(w, "kill refused", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusAccepted, map[string]string{"task_id": r.PathValue("id")})
	})
	mux.HandleFunc("GET /api/v1/state", func(w http.ResponseWriter, _ *http.Request) {
		respond(s, w, s.b.Summary)
	})
}

// redirectStandby sends API calls made to a standby to the leader.
func (s *server) redirectStandby(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/metrics", "/healthz", "/api/v1/leader":
			next.ServeHTTP(w, r)
			return
		}
		if s.b.Leading() {
			next.ServeHTTP(w, r)
			return
		}
		leader, err := s.cfg.Leader()
		if err != nil || leader == "" || leader == s.cfg.Self {
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

func respond[T any](s *server, w http.ResponseWriter, f func() (T, error)) {
	v, err := f()
	if err != nil {
		s.writeErr(w, "request failed", err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, v)
}

// writeErr maps errors onto status codes: bad input 4xx, leadership lost
// 503, everything else 500. The apps framework's errors are known here;
// the backend's own are known by their Kind.
func (s *server) writeErr(w http.ResponseWriter, msg string, err error) {
	kind := s.b.ErrorKind(err)
	var ve *apps.ValidationError
	switch {
	case kind == Refused:
		httpserver.WriteError(w, http.StatusForbidden, msg, err.Error())
	case errors.As(err, &ve):
		httpserver.WriteJSON(w, http.StatusUnprocessableEntity, ve)
	case kind == NotLeading:
		unavailable(w, msg, err.Error())
	case errors.Is(err, apps.ErrNotFound):
		// The whole message: "app /web not found" says it all.
		httpserver.WriteError(w, http.StatusNotFound, err.Error(), nil)
	case kind == NotFound:
		httpserver.WriteError(w, http.StatusNotFound, msg, err.Error())
	case errors.Is(err, apps.ErrExists):
		httpserver.WriteError(w, http.StatusConflict, msg, err.Error())
	case kind == Unavailable:
		unavailable(w, msg, err.Error())
	case kind == Invalid:
		httpserver.WriteError(w, http.StatusUnprocessableEntity, msg, err.Error())
	default:
		httpserver.WriteError(w, http.StatusInternalServerError, msg, err.Error())
	}
}

// unavailable answers 503 with a reason and when to retry.
func unavailable(w http.ResponseWriter, msg, details string) {
	w.Header().Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
	httpserver.WriteError(w, http.StatusServiceUnavailable, msg, details)
}
