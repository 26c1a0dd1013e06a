package agent

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/resources"
)

// POST /api/v1/tasks/{id}/check runs a COMMAND health check in a running
// task and answers its result; bad requests and tasks that cannot be
// checked are refused with the matching status.
func TestAPICheck(t *testing.T) {
	ta := startAgent(t, nil)
	openHarvest(t, ta)
	launch := func(id, cmd string) {
		t.Helper()
		info := api.TaskInfo{ID: id, Cmd: cmd, Env: map[string]string{"FOO": "bar"},
			Resources: resources.Resources{CPUs: 0.1, MemBytes: 16 << 20}}
		if code, body := ta.do(t, http.MethodPost, "/api/v1/tasks", info); code != http.StatusAccepted {
			t.Fatalf("launch %s: %d %s", id, code, body)
		}
	}
	launch("live", "sleep 600")
	launch("over", "true")
	waitTask(t, ta.Agent, "live", 30*time.Second, isState(api.TaskRunning), "running")
	waitTask(t, ta.Agent, "over", 30*time.Second, isState(api.TaskFinished), "finished")

	check := func(id string, body any) (int, []byte) {
		t.Helper()
		return ta.do(t, http.MethodPost, "/api/v1/tasks/"+id+"/check", body)
	}
	result := func(code int, body []byte) agentproto.CheckResult {
		t.Helper()
		if code != http.StatusOK {
			t.Fatalf("check: %d %s, want 200", code, body)
		}
		var r agentproto.CheckResult
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("check answer %s: %v", body, err)
		}
		return r
	}

	r := result(check("live", agentproto.CheckRequest{Command: `echo "$HEADROOM_TASK_ID $FOO"`, TimeoutSeconds: 10}))
	if !r.Healthy || r.ExitCode != 0 || r.Output != "live bar\n" {
		t.Errorf("healthy check: %+v", r)
	}
	r = result(check("live", `{"command":"echo sick >&2; exit 2","timeout_seconds":10}`))
	if r.Healthy || r.ExitCode != 2 || r.Output != "sick\n" {
		t.Errorf("unhealthy check: %+v", r)
	}
	start := time.Now()
	r = result(check("live", agentproto.CheckRequest{Command: "sleep 100", TimeoutSeconds: 0.3}))
	if r.Healthy || r.ExitCode != -1 || !strings.Contains(r.Output, "killed") {
		t.Errorf("timed-out check: %+v", r)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("timed-out check answered after %v", d)
	}

	refusals := []struct {
		name, id string
		body     any
		code     int
		want     string // in the details
	}{
		{"unknown task", "nosuch", agentproto.CheckRequest{Command: "true", TimeoutSeconds: 1}, http.StatusNotFound, "nosuch"},
		{"finished task", "over", agentproto.CheckRequest{Command: "true", TimeoutSeconds: 1}, http.StatusConflict, string(api.TaskFinished)},
		{"malformed", "live", `{"command":`, http.StatusBadRequest, "malformed"},
		{"unknown field", "live", `{"command":"true","timeout_seconds":1,"shell":"bash"}`, http.StatusBadRequest, "shell"},
		{"trailing data", "live", `{"command":"true","timeout_seconds":1} {}`, http.StatusBadRequest, "trailing"},
		{"wrong type", "live", `{"command":"true","timeout_seconds":"1"}`, http.StatusBadRequest, "timeout_seconds"},
		{"empty body", "live", "", http.StatusBadRequest, "empty"},
		{"too large", "live", `{"command":"` + strings.Repeat("x", 70<<10) + `","timeout_seconds":1}`, http.StatusRequestEntityTooLarge, "limit_bytes"},
		{"no command", "live", `{"timeout_seconds":1}`, http.StatusUnprocessableEntity, "command"},
		{"blank command", "live", agentproto.CheckRequest{Command: "  ", TimeoutSeconds: 1}, http.StatusUnprocessableEntity, "command"},
		{"long command", "live", agentproto.CheckRequest{Command: "true " + strings.Repeat("x", 4<<10), TimeoutSeconds: 1}, http.StatusUnprocessableEntity, "command"},
		{"no timeout", "live", `{"command":"true"}`, http.StatusUnprocessableEntity, "timeout_seconds"},
		{"negative timeout", "live", agentproto.CheckRequest{Command: "true", TimeoutSeconds: -1}, http.StatusUnprocessableEntity, "timeout_seconds"},
		{"timeout too long", "live", agentproto.CheckRequest{Command: "true", TimeoutSeconds: 301}, http.StatusUnprocessableEntity, "timeout_seconds"},
	}
	for _, tc := range refusals {
		code, body := check(tc.id, tc.body)
		if code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.code)
			continue
		}
		if _, details := decodeAPIError(t, body); !strings.Contains(details, tc.want) {
			t.Errorf("%s: details %q do not mention %q", tc.name, details, tc.want)
		}
	}
	if code, body := ta.do(t, http.MethodGet, "/api/v1/tasks/live/check", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("GET on the check route: %d %s, want 405", code, body)
	}

	// The checks left the task as it was.
	if v, _ := ta.exec.Task("live"); v.Status.State != api.TaskRunning {
		t.Errorf("the task is %s after its checks", v.Status.State)
	}
}
