package httpapi

import (
	"net/http"

	"github.com/headroom-dev/headroom/internal/auth"
)

// RouteRules is who may call each route of the master, keyed by its
// ServeMux pattern: the one access table, walked route by route and role
// by role in the master's TestRouteAccess. The operator may call every
// route; a reader only GET and HEAD ones (auth.Rule). A route registered
// without an entry is the operator's only. It is built on each call, so
// no caller can change another's.
func RouteRules() map[string]auth.Rule {
	public := auth.Rule{Public: true}
	operator := auth.Rule{}
	read := auth.Rule{Roles: []auth.Role{auth.Reader}}
	agents := auth.Rule{Roles: []auth.Role{auth.Agent}}
	framework := auth.Rule{Roles: []auth.Role{auth.Framework}}
	readOrFramework := auth.Rule{Roles: []auth.Role{auth.Reader, auth.Framework}}
	anyRole := auth.Rule{Roles: []auth.Role{auth.Reader, auth.Agent, auth.Framework}}
	return map[string]auth.Rule{
		"GET /metrics":       public,
		"GET /healthz":       public,
		"GET /api/v1/leader": anyRole,

		"POST /api/v1/agents/register":       agents,
		"POST /api/v1/agents/{id}/heartbeat": agents,
		"GET /api/v1/agents":                 read,
		"PUT /api/v1/agents/{id}/attributes": operator,
		"GET /api/v1/tasks":                  read,
		"POST /api/v1/tasks/{id}/kill":       operator,
		"GET /api/v1/state":                  read,

		// A framework sees its own offers, tasks and updates on its
		// stream, and reconciles through it; in the list of frameworks
		// it sees only those of its credential, for the reason it waits.
		"POST /api/v1/scheduler":                framework,
		"GET /api/v1/frameworks":                readOrFramework,
		"POST /api/v1/frameworks/{id}/teardown": operator,

		// Marathon's API. /ping answers "pong" and nothing else: clients
		// probe it before they authenticate anything.
		"GET /ping":      public,
		"GET /v2/info":   read,
		"GET /v2/leader": read,
		"GET /v2/apps":   read,
		"POST /v2/apps":  operator,
		// Other methods on the list: 405 with Allow (for a reader, 403).
		"/v2/apps":            read,
		"GET /v2/deployments": read,
		// Every method of one app: GET for readers, the rest operators.
		"/v2/apps/":             read,
		"GET /v2/tasks":         read,
		"POST /v2/tasks/delete": operator,
		"GET /v2/queue":         read,
		"GET /v2/groups":        read,
		"GET /v2/groups/":       read,
		"GET /v2/events":        read,

		"POST /v1/jobs":                                operator,
		"GET /v1/jobs":                                 read,
		"GET /v1/jobs/{id}":                            read,
		"PUT /v1/jobs/{id}":                            operator,
		"DELETE /v1/jobs/{id}":                         operator,
		"GET /v1/jobs/{id}/schedules":                  read,
		"POST /v1/jobs/{id}/schedules":                 operator,
		"GET /v1/jobs/{id}/schedules/{sid}":            read,
		"PUT /v1/jobs/{id}/schedules/{sid}":            operator,
		"DELETE /v1/jobs/{id}/schedules/{sid}":         operator,
		"POST /v1/jobs/{id}/runs":                      operator,
		"GET /v1/jobs/{id}/runs":                       read,
		"GET /v1/jobs/{id}/runs/{runId}":               read,
		"POST /v1/jobs/{id}/runs/{runId}/actions/stop": operator,

		// The web UI (ui.go): its pages, the history, the agents' APIs
		// through the master.
		"GET /ui/":            public,
		"GET /api/v1/history": read,
		// A task's files may hold what it was given in confidence (its
		// environment is shown to operators only, for the same reason).
		"GET /api/v1/tasks/{id}/files":           operator,
		"GET /api/v1/tasks/{id}/files/read":      operator,
		"GET /api/v1/agents/{id}/state":          read,
		"PUT /api/v1/agents/{id}/reservation":    operator,
		"DELETE /api/v1/agents/{id}/reservation": operator,
	}
}

// routeMux is a ServeMux that remembers its patterns, so that tests can
// check every route against RouteRules.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func newRouteMux() *routeMux { return &routeMux{ServeMux: http.NewServeMux()} }

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

// authorize puts the credentials policy in front of h; without
// credentials (--insecure) every request passes.
func (s *server) authorize(mux *routeMux, h http.Handler) http.Handler {
	if s.cfg.Credentials == nil {
		return h
	}
	rules := RouteRules()
	return auth.Policy{Credentials: s.cfg.Credentials, Logger: s.cfg.Logger,
		Route: func(r *http.Request) (string, auth.Rule, bool) {
			_, pattern := mux.Handler(r)
			rule, ok := rules[pattern]
			return pattern, rule, ok
		}}.Handler(h)
}
