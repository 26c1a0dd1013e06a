package marathonapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/headroom-dev/headroom/api/marathon"
	"github.com/headroom-dev/headroom/internal/httpserver"
	"github.com/headroom-dev/headroom/master/apps"
)

// Backend is what the handlers need of the master.
type Backend interface {
	AppStatuses() ([]apps.AppStatus, error)
	AppStatus(id string) (apps.AppStatus, error)
	// AppTaskList is the app's tasks.
	AppTaskList(id string) ([]apps.Task, error)
	// CreateApp validates, stores and schedules a new app.
	CreateApp(ctx context.Context, app apps.App) (apps.AppStatus, marathon.DeploymentResult, error)
	// PutApp replaces the app with a full definition (headroom's JSON of
	// apps.App), creating it when missing.
	PutApp(ctx context.Context, id string, body []byte) (marathon.DeploymentResult, bool, error)
	RestartApp(ctx context.Context, id string) (marathon.DeploymentResult, error)
	DeleteApp(ctx context.Context, id string) (marathon.DeploymentResult, error)
	// KillTask kills one task; the app replaces it.
	KillTask(taskID string) error
	Deployments() ([]apps.Deployment, error)
}

// Config configures the handlers.
type Config struct {
	Clock clockwork.Clock
	Log   *slog.Logger
	// WriteError answers a Backend error with its status (404 for an
	// unknown app, 422 for an invalid one, 503 when not leading...), as
	// the rest of the master's API does; NotFound says whether an error
	// is an unknown app.
	WriteError func(w http.ResponseWriter, msg string, err error)
	NotFound   func(error) bool
	// EventPoll is how often an event stream compares snapshots;
	// default 500ms.
	EventPoll time.Duration
	// Options are the defaults of what a Marathon document leaves out.
	Options marathon.Options
	// AdvertiseURL is this master's own URL, Leader the leader's as
	// known now, FrameworkID the apps framework's id: for /v2/info and
	// /v2/leader.
	AdvertiseURL string
	Leader       func() (string, error)
	FrameworkID  string
	// HideEnv says whether the caller may not read env values; they are
	// then shown as Redacted.
	HideEnv  func(*http.Request) bool
	Redacted string
}

// MaxBody bounds an app document.
const MaxBody = apps.MaxBodyBytes

// Server holds the handlers.
type Server struct {
	b   Backend
	cfg Config
}

// New returns the handlers over b.
func New(b Backend, cfg Config) *Server {
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.EventPoll <= 0 {
		cfg.EventPoll = 500 * time.Millisecond
	}
	if cfg.WriteError == nil {
		cfg.WriteError = writeError
	}
	if cfg.Leader == nil {
		cfg.Leader = func() (string, error) { return cfg.AdvertiseURL, nil }
	}
	if cfg.HideEnv == nil {
		cfg.HideEnv = func(*http.Request) bool { return false }
	}
	if cfg.NotFound == nil {
		cfg.NotFound = func(err error) bool { return errors.Is(err, apps.ErrNotFound) }
	}
	return &Server{b: b, cfg: cfg}
}

// Mux is where the routes are registered (http.ServeMux's method).
type Mux interface {
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Register adds every route to mux.
func (s *Server) Register(mux Mux) {
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "pong\n")
	})
	mux.HandleFunc("GET /v2/info", s.serveInfo)
	mux.HandleFunc("GET /v2/leader", s.serveLeader)
	mux.HandleFunc("GET /v2/apps", s.serveApps)
	mux.HandleFunc("POST /v2/apps", s.serveCreate)
	mux.HandleFunc("/v2/apps", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, POST")
		httpserver.WriteError(w, http.StatusMethodNotAllowed, "method not allowed", r.Method+" "+r.URL.Path)
	})
	mux.HandleFunc("/v2/apps/", s.serveApp)
	mux.HandleFunc("GET /v2/tasks", s.serveTasks)
	mux.HandleFunc("POST /v2/tasks/delete", s.serveTasksDelete)
	mux.HandleFunc("GET /v2/deployments", s.serveDeployments)
	mux.HandleFunc("GET /v2/queue", s.serveQueue)
	mux.HandleFunc("GET /v2/groups", s.serveGroups)
	mux.HandleFunc("GET /v2/groups/", s.serveGroups)
	mux.HandleFunc("GET /v2/events", s.serveEvents)
}

func (s *Server) writeErr(w http.ResponseWriter, msg string, err error) {
	s.cfg.WriteError(w, msg, err)
}

// writeError is the default WriteError: Marathon's 422 body for an
// invalid app, 404 for an unknown one, 500 for the rest.
func writeError(w http.ResponseWriter, msg string, err error) {
	var ve *apps.ValidationError
	switch {
	case errors.As(err, &ve):
		httpserver.WriteJSON(w, http.StatusUnprocessableEntity, ve)
	case errors.Is(err, apps.ErrNotFound):
		httpserver.WriteError(w, http.StatusNotFound, err.Error(), nil)
	default:
		httpserver.WriteError(w, http.StatusInternalServerError, msg, err.Error())
	}
}

func (s *Server) serveInfo(w http.ResponseWriter, _ *http.Request) {
	leader, err := s.cfg.Leader()
	if err != nil {
		s.writeErr(w, "no leader", err)
		return
	}
	info := marathon.Info{
		Name: "marathon", Version: marathon.MarathonVersion, Buildref: "headroom",
		Elected: leader == s.cfg.AdvertiseURL, Leader: hostPort(leader), FrameworkID: s.cfg.FrameworkID,
		MarathonConfig: marathon.MarathonConfig{
			Master: leader, FrameworkName: "headroom-apps", HA: true, Checkpoint: true,
			Hostname: hostOnly(s.cfg.AdvertiseURL), MesosRole: "*",
		},
		ZookeeperConfig: map[string]any{},
		HTTPConfig:      marathon.HTTPConfig{HTTPPort: portOf(s.cfg.AdvertiseURL)},
		EventSubscriber: marathon.EventSubscriber{Type: "sse", HTTPEndpoints: []string{}},
	}
	httpserver.WriteJSON(w, http.StatusOK, info)
}

func (s *Server) serveLeader(w http.ResponseWriter, _ *http.Request) {
	leader, err := s.cfg.Leader()
	if err != nil {
		s.writeErr(w, "no leader", err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, marathon.LeaderResponse{Leader: hostPort(leader)})
}

// hostPort is a URL's host:port, as Marathon names its leader.
func hostPort(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return u
	}
	return p.Host
}

func hostOnly(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Hostname()
}

func portOf(u string) int {
	p, err := url.Parse(u)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p.Port())
	return n
}

// embedTasks reports whether the request asks for tasks inside apps.
func embedTasks(r *http.Request) bool {
	for _, e := range r.URL.Query()["embed"] {
		if e == "apps.tasks" || e == "app.tasks" || e == "tasks" {
			return true
		}
	}
	return false
}

// redact hides a's env values from a caller who may not read them.
func (s *Server) redact(r *http.Request, a *marathon.App) {
	if len(a.Env) == 0 || !s.cfg.HideEnv(r) {
		return
	}
	env := make(map[string]marathon.Env, len(a.Env))
	for k := range a.Env {
		env[k] = marathon.Env{Value: s.cfg.Redacted}
	}
	a.Env = env
}

func (s *Server) view(r *http.Request, st apps.AppStatus, withTasks bool) (marathon.AppView, error) {
	v, err := s.viewOf(st, withTasks)
	s.redact(r, &v.App)
	return v, err
}

func (s *Server) viewOf(st apps.AppStatus, withTasks bool) (marathon.AppView, error) {
	if !withTasks {
		return marathon.View(st, nil, nil), nil
	}
	tasks, err := s.b.AppTaskList(st.App.ID)
	if err != nil {
		return marathon.AppView{}, err
	}
	if tasks == nil {
		tasks = []apps.Task{}
	}
	return marathon.View(st, tasks, nil), nil
}

func (s *Server) views(r *http.Request, withTasks bool) ([]marathon.AppView, error) {
	list, err := s.b.AppStatuses()
	if err != nil {
		return nil, err
	}
	out := make([]marathon.AppView, 0, len(list))
	for _, st := range list {
		v, err := s.view(r, st, withTasks)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (s *Server) serveApps(w http.ResponseWriter, r *http.Request) {
	views, err := s.views(r, embedTasks(r))
	if err != nil {
		s.writeErr(w, "listing apps", err)
		return
	}
	if id := r.URL.Query().Get("id"); id != "" {
		filtered := views[:0]
		for _, v := range views {
			if strings.Contains(v.ID, id) {
				filtered = append(filtered, v)
			}
		}
		views = filtered
	}
	httpserver.WriteJSON(w, http.StatusOK, marathon.AppsResponse{Apps: views})
}

// strict reports whether the request asks for headroom's own strict
// decoding, which refuses the Marathon fields headroom ignores: the CLI
// asks for it, so that a file a person wrote never deploys with a part
// left out.
func strict(r *http.Request) bool { return r.URL.Query().Get("strict") == "true" }

// decode reads a Marathon document and converts it; the warnings are
// logged here and returned for the answer. A document that cannot be
// read is answered by bodyErr (nil: 400).
func (s *Server) decode(w http.ResponseWriter, body []byte, bodyErr func(error)) (apps.App, []string, bool) {
	m, err := marathon.Decode(bytes.NewReader(body), MaxBody)
	if err != nil {
		if bodyErr != nil {
			bodyErr(err)
		} else {
			httpserver.BodyError(w, "invalid app definition", err)
		}
		return apps.App{}, nil, false
	}
	a, warnings, err := marathon.ToApp(m, s.cfg.Options)
	if err != nil {
		s.writeErr(w, "invalid app definition", err)
		return apps.App{}, nil, false
	}
	if len(warnings) > 0 {
		s.cfg.Log.Warn("app definition: fields accepted but ignored", "app", a.ID, "warnings", warnings)
	}
	return a, warnings, true
}

func (s *Server) serveCreate(w http.ResponseWriter, r *http.Request) {
	body, err := readAll(r.Body, MaxBody)
	if err != nil {
		httpserver.BodyError(w, "invalid app definition", err)
		return
	}
	var (
		a        apps.App
		warnings []string
	)
	if strict(r) {
		if a, err = apps.DecodeApp(bytes.NewReader(body)); err != nil {
			httpserver.BodyError(w, "invalid app definition", err)
			return
		}
	} else {
		var ok bool
		if a, warnings, ok = s.decode(w, body, nil); !ok {
			return
		}
	}
	st, dep, err := s.b.CreateApp(r.Context(), a)
	if err != nil {
		s.writeErr(w, "app not created", err)
		return
	}
	v := marathon.View(st, nil, nil)
	s.redact(r, &v.App)
	v.Deployments = []marathon.DeploymentRef{{ID: dep.DeploymentID}}
	v.Warnings = warnings
	w.Header().Set("Location", "/v2/apps"+marathon.AppPath(st.App.ID))
	w.Header().Set("Marathon-Deployment-Id", dep.DeploymentID)
	httpserver.WriteJSON(w, http.StatusCreated, v)
}

// serveApp is every route under /v2/apps/: the id, then optionally
// /restart, /tasks[/{taskId}] or /versions[/{version}].
func (s *Server) serveApp(w http.ResponseWriter, r *http.Request) {
	id, sub, arg := splitAppPath(strings.TrimPrefix(r.URL.Path, "/v2/apps/"))
	if id == "" {
		httpserver.WriteError(w, http.StatusNotFound, "no app id in the path", r.URL.Path)
		return
	}
	// Every route but the PUT that may create the app answers 404 for
	// an app that does not exist before it looks at the method or the
	// body: "app /nope not found" is what the caller needs.
	if !(sub == "" && r.Method == http.MethodPut) {
		if _, err := s.b.AppStatus(id); err != nil {
			s.writeErr(w, "app", err)
			return
		}
	}
	switch {
	case sub == "" && r.Method == http.MethodGet:
		st, err := s.b.AppStatus(id)
		if err != nil {
			s.writeErr(w, "app", err)
			return
		}
		// Marathon embeds the tasks of a single app by default.
		v, err := s.view(r, st, true)
		if err != nil {
			s.writeErr(w, "app", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, marathon.AppResponse{App: v})
	case sub == "" && (r.Method == http.MethodPut || r.Method == http.MethodPatch):
		s.servePut(w, r, id)
	case sub == "" && r.Method == http.MethodDelete:
		dep, err := s.b.DeleteApp(r.Context(), id)
		if err != nil {
			s.writeErr(w, "app not deleted", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, dep)
	case sub == "restart" && arg == "" && r.Method == http.MethodPost:
		dep, err := s.b.RestartApp(r.Context(), id)
		if err != nil {
			s.writeErr(w, "restart refused", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, dep)
	case sub == "tasks" && arg == "" && r.Method == http.MethodGet:
		tasks, err := s.taskViews(id)
		if err != nil {
			s.writeErr(w, "listing tasks", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, marathon.TasksResponse{Tasks: tasks})
	case sub == "tasks" && r.Method == http.MethodDelete:
		s.serveKill(w, r, id, arg)
	case sub == "versions" && r.Method == http.MethodGet:
		st, err := s.b.AppStatus(id)
		if err != nil {
			s.writeErr(w, "app", err)
			return
		}
		if arg == "" {
			httpserver.WriteJSON(w, http.StatusOK, marathon.VersionsResponse{Versions: []string{st.App.Version}})
			return
		}
		if arg != st.App.Version {
			httpserver.WriteError(w, http.StatusNotFound, "version not found",
				fmt.Sprintf("app %s has version %s only: headroom keeps the current definition", marathon.AppPath(id), st.App.Version))
			return
		}
		def := marathon.FromApp(st.App)
		s.redact(r, &def)
		httpserver.WriteJSON(w, http.StatusOK, def)
	default:
		allow := "GET, PUT, PATCH, DELETE"
		switch sub {
		case "restart":
			allow = "POST"
		case "tasks":
			allow = "GET, DELETE"
			if arg != "" {
				allow = "DELETE"
			}
		case "versions":
			allow = "GET"
		}
		w.Header().Set("Allow", allow)
		httpserver.WriteError(w, http.StatusMethodNotAllowed, "method not allowed", r.Method+" "+r.URL.Path)
	}
}

// splitAppPath cuts "web/frontend/tasks/web_frontend.x" into the id, the
// sub-resource and its argument. App ids never contain a segment named
// restart, tasks or versions followed by what these take.
func splitAppPath(rest string) (id, sub, arg string) {
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	for i := len(segs) - 1; i >= 1; i-- {
		switch segs[i] {
		case "restart", "tasks", "versions":
			if len(segs)-i-1 <= 1 {
				return apps.NormalizeID(strings.Join(segs[:i], "/")), segs[i], strings.Join(segs[i+1:], "/")
			}
		}
	}
	return apps.NormalizeID(strings.Join(segs, "/")), "", ""
}

// servePut is Marathon's PUT: a partial update by default (the fields
// sent replace the app's), the whole definition with partialUpdate=false.
func (s *Server) servePut(w http.ResponseWriter, r *http.Request, id string) {
	body, err := readAll(r.Body, MaxBody)
	if err != nil {
		httpserver.BodyError(w, "invalid app definition", err)
		return
	}
	// headroom's own decoding answers what is strict, and a body that
	// sets nothing (null, {}, not an object), as it always has.
	if strict(r) || !setsFields(body) {
		s.putResult(w, nil)(s.b.PutApp(r.Context(), id, body))
		return
	}
	cur, err := s.b.AppStatus(id)
	exists := err == nil
	if err != nil && !s.cfg.NotFound(err) {
		s.writeErr(w, "app", err)
		return
	}
	if !exists && !namesCommand(body) {
		// A partial update ({"instances": 2}) of an app that does not
		// exist: the backend says it is not found, rather than list
		// the fields it lacks to be created.
		s.putResult(w, nil)(s.b.PutApp(r.Context(), id, body))
		return
	}
	doc := body
	if exists && r.URL.Query().Get("partialUpdate") != "false" {
		if doc, err = marathon.Merge(marathon.FromApp(cur.App), body); err != nil {
			httpserver.BodyError(w, "invalid app definition", err)
			return
		}
	}
	// As the strict path answers: what cannot be read is a 422 naming
	// the app.
	a, warnings, ok := s.decode(w, withID(doc, id), func(err error) {
		httpserver.WriteError(w, http.StatusUnprocessableEntity, "app not deployed", fmt.Sprintf("app %q: %v", id, err))
	})
	if !ok {
		return
	}
	if a.ID != id {
		httpserver.WriteError(w, http.StatusBadRequest, "invalid app definition",
			fmt.Sprintf("app id %q in the body differs from %q in the path", a.ID, id))
		return
	}
	full, err := jsonMarshal(a)
	if err != nil {
		s.writeErr(w, "app not deployed", err)
		return
	}
	s.putResult(w, warnings)(s.b.PutApp(r.Context(), id, full))
}

// putResult answers a PUT: 201 when it created the app, else 200.
func (s *Server) putResult(w http.ResponseWriter, warnings []string) func(marathon.DeploymentResult, bool, error) {
	return func(dep marathon.DeploymentResult, created bool, err error) {
		if err != nil {
			// PUT creates or updates: "deployed" is true of both.
			s.writeErr(w, "app not deployed", err)
			return
		}
		dep.Warnings = warnings
		code := http.StatusOK
		if created {
			code = http.StatusCreated
		}
		w.Header().Set("Marathon-Deployment-Id", dep.DeploymentID)
		httpserver.WriteJSON(w, code, dep)
	}
}

func (s *Server) taskViews(id string) ([]marathon.Task, error) {
	st, err := s.b.AppStatus(id)
	if err != nil {
		return nil, err
	}
	tasks, err := s.b.AppTaskList(id)
	if err != nil {
		return nil, err
	}
	out := make([]marathon.Task, 0, len(tasks))
	for _, t := range tasks {
		out = append(out, marathon.TaskView(t, len(st.App.HealthChecks)))
	}
	return out, nil
}

// serveKill is DELETE /v2/apps/{id}/tasks[/{taskId}]: the tasks are
// killed and replaced, or, with scale=true, the app is scaled down by as
// many.
func (s *Server) serveKill(w http.ResponseWriter, r *http.Request, id, taskID string) {
	tasks, err := s.b.AppTaskList(id)
	if err != nil {
		s.writeErr(w, "listing tasks", err)
		return
	}
	st, err := s.b.AppStatus(id)
	if err != nil {
		s.writeErr(w, "app", err)
		return
	}
	host := r.URL.Query().Get("host")
	var kill []apps.Task
	for _, t := range tasks {
		if (taskID == "" || t.ID == taskID) && (host == "" || host == "*" || t.Hostname == host) {
			kill = append(kill, t)
		}
	}
	if taskID != "" && len(kill) == 0 {
		httpserver.WriteError(w, http.StatusNotFound, "task not found", fmt.Sprintf("task %s of app %s", taskID, marathon.AppPath(id)))
		return
	}
	views := make([]marathon.Task, 0, len(kill))
	for _, t := range kill {
		if err := s.b.KillTask(t.ID); err != nil {
			s.writeErr(w, "kill refused", err)
			return
		}
		views = append(views, marathon.TaskView(t, len(st.App.HealthChecks)))
	}
	// Killed first, then scaled: the scale-down then takes a replacement
	// launched in between, never a task the caller meant to keep.
	if r.URL.Query().Get("scale") == "true" && len(kill) > 0 {
		next := st.App.Clone()
		next.Instances = max(st.App.Instances-len(kill), 0)
		full, err := jsonMarshal(next)
		if err == nil {
			_, _, err = s.b.PutApp(r.Context(), id, full)
		}
		if err != nil {
			s.writeErr(w, "scale refused", err)
			return
		}
	}
	if taskID != "" {
		httpserver.WriteJSON(w, http.StatusOK, marathon.TaskResponse{Task: views[0]})
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, marathon.TasksResponse{Tasks: views})
}

// allTasks lists every app's tasks, in app order.
func (s *Server) allTasks() ([]marathon.Task, error) {
	list, err := s.b.AppStatuses()
	if err != nil {
		return nil, err
	}
	out := []marathon.Task{}
	for _, st := range list {
		tasks, err := s.b.AppTaskList(st.App.ID)
		if err != nil {
			return nil, err
		}
		for _, t := range tasks {
			out = append(out, marathon.TaskView(t, len(st.App.HealthChecks)))
		}
	}
	return out, nil
}

// serveTasks is GET /v2/tasks; status=running|staging|... filters.
func (s *Server) serveTasks(w http.ResponseWriter, r *http.Request) {
	tasks, err := s.allTasks()
	if err != nil {
		s.writeErr(w, "listing tasks", err)
		return
	}
	if statuses := r.URL.Query()["status"]; len(statuses) > 0 {
		filtered := tasks[:0]
		for _, t := range tasks {
			for _, st := range statuses {
				if strings.EqualFold("TASK_"+st, t.State) || strings.EqualFold(st, t.State) {
					filtered = append(filtered, t)
					break
				}
			}
		}
		tasks = filtered
	}
	httpserver.WriteJSON(w, http.StatusOK, marathon.TasksResponse{Tasks: tasks})
}

// serveTasksDelete is POST /v2/tasks/delete {"ids": [...]}.
func (s *Server) serveTasksDelete(w http.ResponseWriter, r *http.Request) {
	var req struct {
		IDs []string `json:"ids"`
	}
	body, err := readAll(r.Body, MaxBody)
	if err == nil {
		err = decodeStrictBytes(body, &req)
	}
	if err != nil {
		httpserver.BodyError(w, "invalid request", err)
		return
	}
	for _, id := range req.IDs {
		if err := s.b.KillTask(id); err != nil {
			s.writeErr(w, "kill refused", fmt.Errorf("task %s: %w", id, err))
			return
		}
	}
	httpserver.WriteJSON(w, http.StatusOK, marathon.TasksResponse{Tasks: []marathon.Task{}})
}

func (s *Server) serveDeployments(w http.ResponseWriter, _ *http.Request) {
	deps, err := s.b.Deployments()
	if err != nil {
		s.writeErr(w, "listing deployments", err)
		return
	}
	out := make([]marathon.Deployment, 0, len(deps))
	for _, d := range deps {
		out = append(out, marathon.DeploymentView(d))
	}
	httpserver.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) serveQueue(w http.ResponseWriter, r *http.Request) {
	list, err := s.b.AppStatuses()
	if err != nil {
		s.writeErr(w, "listing the queue", err)
		return
	}
	out := marathon.QueueResponse{Queue: []marathon.QueueItem{}}
	now := s.cfg.Clock.Now()
	for _, st := range list {
		if item, ok := marathon.QueueView(st, now); ok {
			s.redact(r, &item.App.App)
			out.Queue = append(out.Queue, item)
		}
	}
	httpserver.WriteJSON(w, http.StatusOK, out)
}

// serveGroups is GET /v2/groups[/{id}]: the apps nested by their paths.
func (s *Server) serveGroups(w http.ResponseWriter, r *http.Request) {
	views, err := s.views(r, false)
	if err != nil {
		s.writeErr(w, "listing groups", err)
		return
	}
	sort.Slice(views, func(i, j int) bool { return views[i].ID < views[j].ID })
	root := marathon.GroupTree(views)
	id := strings.Trim(strings.TrimPrefix(r.URL.Path, "/v2/groups"), "/")
	if id == "" {
		httpserver.WriteJSON(w, http.StatusOK, root)
		return
	}
	g, ok := root.Find(id)
	if !ok {
		httpserver.WriteError(w, http.StatusNotFound, "group not found", "/"+id)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, g)
}

// readAll reads a body of at most limit bytes.
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
