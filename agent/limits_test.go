package agent

import (
	"testing"

	"github.com/headroom-dev/headroom/internal/httpserver"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// agentRoutes is every route of Routes, with the body limit of those that
// read one.
var agentRoutes = []testutil.Route{
	{Method: "GET", Path: "/metrics"},
	{Method: "GET", Path: "/"},
	{Method: "GET", Path: "/api/v1/estimate"},
	{Method: "GET", Path: "/healthz"},
	{Method: "GET", Path: "/api/v1/state"},
	{Method: "PUT", Path: "/api/v1/reservation", BodyLimit: maxBody},
	{Method: "DELETE", Path: "/api/v1/reservation"},
	{Method: "PUT", Path: "/api/v1/attributes", BodyLimit: maxBody},
	{Method: "GET", Path: "/api/v1/tasks"},
	{Method: "POST", Path: "/api/v1/tasks", BodyLimit: maxBody},
	{Method: "POST", Path: "/api/v1/tasks/t1/kill", BodyLimit: maxBody},
	{Method: "POST", Path: "/api/v1/tasks/t1/check", BodyLimit: maxCheckBody},
	{Method: "GET", Path: "/api/v1/tasks/t1/files"},
	{Method: "GET", Path: "/api/v1/tasks/t1/files/read"},
}

// TestEveryRouteLimitsBodiesAndMethods: on every route of the agent an
// oversized body is 413 naming the limit and any other method (TRACE and
// DELETE on /metrics among them) 405 with Allow; nothing changes.
func TestEveryRouteLimitsBodiesAndMethods(t *testing.T) {
	ta := startAgent(t, nil)
	before := ta.State()
	testutil.CheckRoutes(t, ta.srv.URL, httpserver.DefaultLimits.MaxBodyBytes, agentRoutes)
	after := ta.State()
	if len(after.Tasks) != len(before.Tasks) || after.Override != nil || len(after.Attributes) != len(before.Attributes) {
		t.Fatalf("state changed: before %+v, after %+v", before, after)
	}
}
