package master

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/headroom-dev/headroom/internal/testutil"
)

// TestAcceptedButWrongInputsRefused: inputs the master used to accept and
// get wrong are refused with a 4xx naming the field, and what the APIs
// show (apps, deployments, agents, tasks, jobs) is the same afterwards.
func TestAcceptedButWrongInputsRefused(t *testing.T) {
	tm := startLeader(t)
	base := tm.url
	if code, _, body := call(t, http.MethodPost, base+"/v2/apps", `{"id":"/existing","cmd":"sleep 1000","cpus":0.1,"mem":16,"instances":0}`); code != http.StatusCreated {
		t.Fatalf("creating the app: %d %s", code, body)
	}
	if code, _, body := call(t, http.MethodPost, base+"/v1/jobs", `{"id":"existing","run":{"cmd":"true","cpus":0.1,"mem":16}}`); code != http.StatusCreated {
		t.Fatalf("creating the job: %d %s", code, body)
	}
	state := func() string {
		var b strings.Builder
		for _, p := range []string{"/v2/apps", "/v2/deployments", "/api/v1/agents", "/api/v1/tasks", "/v1/jobs", "/v1/jobs/existing/schedules"} {
			code, _, body := call(t, http.MethodGet, base+p, nil)
			if code != http.StatusOK {
				t.Fatalf("GET %s: %d %s", p, code, body)
			}
			b.WriteString(p + " " + string(body) + "\n")
		}
		return b.String()
	}
	before := state()
	reg := func(attrs string) string {
		return `{"hostname":"h1","url":"http://127.0.0.1:1","attributes":` + attrs + `,"revocable":{"cpus":1,"mem_bytes":1000000000}}`
	}
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		field                    string // what the error names
	}{
		{"app put null", "PUT", "/v2/apps/existing", `null`, http.StatusUnprocessableEntity, "must be a JSON object"},
		{"app put {}", "PUT", "/v2/apps/existing", `{}`, http.StatusUnprocessableEntity, "at least one field"},
		{"app patch {}", "PATCH", "/v2/apps/existing", ` { } `, http.StatusUnprocessableEntity, "at least one field"},
		{"app put empty", "PUT", "/v2/apps/existing", ``, http.StatusUnprocessableEntity, "must be a JSON object"},
		// Nothing to create an app from: it does not exist.
		{"new app put null", "PUT", "/v2/apps/fresh", `null`, http.StatusNotFound, "app /fresh not found"},
		{"new app put {}", "PUT", "/v2/apps/fresh", `{}`, http.StatusNotFound, "app /fresh not found"},
		{"attributes null value", "PUT", "/api/v1/agents/a1/attributes", `{"id":null}`, http.StatusBadRequest, `attributes[\"id\"]`},
		{"attributes null", "PUT", "/api/v1/agents/a1/attributes", `null`, http.StatusBadRequest, "attributes"},
		{"register null attribute", "POST", "/api/v1/agents/register", reg(`{"rack":"r1","id":null}`), http.StatusBadRequest, `attributes[\"id\"]`},
		{"cron step", "POST", "/v1/jobs", `{"id":"j2","run":{"cmd":"true"},"schedules":[{"cron":"*/1000000000000 * * * *"}]}`, http.StatusBadRequest, "minute step"},
		{"cron step on a schedule", "POST", "/v1/jobs/existing/schedules", `{"id":"s1","cron":"0 */25 * * *"}`, http.StatusBadRequest, "hour step"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := call(t, tc.method, base+tc.path, tc.body)
			if code != tc.code || !strings.Contains(string(body), tc.field) {
				t.Fatalf("%s %s %s: %d %s, want %d naming %s", tc.method, tc.path, tc.body, code, truncate(body), tc.code, tc.field)
			}
			if after := state(); after != before {
				t.Fatalf("state changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
	t.Run("oversized body", func(t *testing.T) {
		u, _ := url.Parse(base)
		code, _, body := testutil.RawRequest(t, u.Host, "PUT", "/v2/apps/existing", MaxBodyBytes+1, false)
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "limit_bytes") {
			t.Fatalf("%d %s, want 413 naming the limit", code, body)
		}
		if after := state(); after != before {
			t.Fatalf("state changed:\nbefore %s\nafter  %s", before, after)
		}
	})
}
