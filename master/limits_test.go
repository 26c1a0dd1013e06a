package master

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/internal/testutil"
	"github.com/headroom-dev/headroom/master/apps"
	"github.com/headroom-dev/headroom/master/httpapi"
	"github.com/headroom-dev/headroom/master/jobs"
)

// masterRoutes is every route of Handler, with the body limit of those
// that read one.
var masterRoutes = []testutil.Route{
	{Method: "GET", Path: "/metrics"},
	{Method: "GET", Path: "/healthz"},
	{Method: "GET", Path: "/api/v1/leader"},
	{Method: "POST", Path: "/api/v1/agents/register", BodyLimit: MaxBodyBytes},
	{Method: "POST", Path: "/api/v1/agents/a1/heartbeat", BodyLimit: MaxBodyBytes},
	{Method: "GET", Path: "/api/v1/agents"},
	{Method: "PUT", Path: "/api/v1/agents/a1/attributes", BodyLimit: MaxBodyBytes},
	{Method: "GET", Path: "/api/v1/tasks"},
	{Method: "POST", Path: "/api/v1/tasks/t1/kill"},
	{Method: "GET", Path: "/api/v1/state"},
	{Method: "POST", Path: "/api/v1/scheduler", BodyLimit: MaxBodyBytes},
	{Method: "GET", Path: "/api/v1/frameworks"},
	{Method: "POST", Path: "/api/v1/frameworks/f1/teardown"},
	{Method: "GET", Path: "/v2/apps"},
	{Method: "POST", Path: "/v2/apps", BodyLimit: apps.MaxBodyBytes},
	{Method: "GET", Path: "/v2/deployments"},
	{Method: "GET", Path: "/v2/apps/web"},
	{Method: "PUT", Path: "/v2/apps/web", BodyLimit: apps.MaxBodyBytes},
	{Method: "PATCH", Path: "/v2/apps/web", BodyLimit: apps.MaxBodyBytes},
	{Method: "DELETE", Path: "/v2/apps/web"},
	{Method: "POST", Path: "/v2/apps/web/restart"},
	{Method: "GET", Path: "/v2/apps/web/tasks"},
	{Method: "DELETE", Path: "/v2/apps/web/tasks"},
	{Method: "DELETE", Path: "/v2/apps/web/tasks/web.t1"},
	{Method: "GET", Path: "/v2/apps/web/versions"},
	{Method: "GET", Path: "/v2/apps/web/versions/v1"},
	{Method: "GET", Path: "/ping"},
	{Method: "GET", Path: "/v2/info"},
	{Method: "GET", Path: "/v2/leader"},
	{Method: "GET", Path: "/v2/tasks"},
	{Method: "POST", Path: "/v2/tasks/delete", BodyLimit: apps.MaxBodyBytes},
	{Method: "GET", Path: "/v2/queue"},
	{Method: "GET", Path: "/v2/groups"},
	{Method: "GET", Path: "/v2/groups/g"},
	{Method: "GET", Path: "/v2/events"},
	{Method: "POST", Path: "/v1/jobs", BodyLimit: jobs.MaxBodyBytes},
	{Method: "GET", Path: "/v1/jobs"},
	{Method: "GET", Path: "/v1/jobs/j1"},
	{Method: "PUT", Path: "/v1/jobs/j1", BodyLimit: jobs.MaxBodyBytes},
	{Method: "DELETE", Path: "/v1/jobs/j1"},
	{Method: "GET", Path: "/v1/jobs/j1/schedules"},
	{Method: "POST", Path: "/v1/jobs/j1/schedules", BodyLimit: jobs.MaxBodyBytes},
	{Method: "GET", Path: "/v1/jobs/j1/schedules/s1"},
	{Method: "PUT", Path: "/v1/jobs/j1/schedules/s1", BodyLimit: jobs.MaxBodyBytes},
	{Method: "DELETE", Path: "/v1/jobs/j1/schedules/s1"},
	{Method: "POST", Path: "/v1/jobs/j1/runs"},
	{Method: "GET", Path: "/v1/jobs/j1/runs"},
	{Method: "GET", Path: "/v1/jobs/j1/runs/r1"},
	{Method: "POST", Path: "/v1/jobs/j1/runs/r1/actions/stop"},
	{Method: "GET", Path: "/ui/"},
	{Method: "GET", Path: "/api/v1/history"},
	{Method: "GET", Path: "/api/v1/tasks/t1/files"},
	{Method: "GET", Path: "/api/v1/tasks/t1/files/read"},
	{Method: "GET", Path: "/api/v1/agents/a1/state"},
	{Method: "PUT", Path: "/api/v1/agents/a1/reservation", BodyLimit: httpapi.MaxOverrideBytes},
	{Method: "DELETE", Path: "/api/v1/agents/a1/reservation"},
}

// TestEveryRouteLimitsBodiesAndMethods: on every route an oversized body is
// 413 naming the limit (declared, and streamed where the route reads
// one), and any other method 405 with Allow; state is unchanged.
func TestEveryRouteLimitsBodiesAndMethods(t *testing.T) {
	tm := startLeader(t)
	// The app routes answer 404 for an unknown app whatever the method.
	if code, _, body := call(t, http.MethodPost, tm.url+"/v2/apps", `{"id":"web","cmd":"sleep 1000","cpus":0.1,"mem":16,"instances":0}`); code != http.StatusCreated {
		t.Fatalf("creating the app: %d %s", code, body)
	}
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, func() bool {
		_, _, body := call(t, http.MethodGet, tm.url+"/v2/deployments", nil)
		d := strings.TrimSpace(string(body))
		return d == "[]" || d == "null"
	}, "the app's deployment never finished")
	before := snapshot(t, tm.url)
	testutil.CheckRoutes(t, tm.url, MaxBodyBytes, masterRoutes)
	if after := snapshot(t, tm.url); after != before {
		t.Fatalf("state changed:\nbefore %s\nafter  %s", before, after)
	}
}
