package marathonapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	marathon "github.com/gambol99/go-marathon"
	"github.com/jonboulle/clockwork"
)

func serve(t *testing.T, f *fake, clock clockwork.Clock) string {
	t.Helper()
	mux := http.NewServeMux()
	New(f, Config{Clock: clock, WriteError: writeErrorFor, NotFound: isNotFound, AdvertiseURL: "http://127.0.0.1:5050",
		FrameworkID: "headroom-apps", EventPoll: 20 * time.Millisecond,
		HideEnv: func(r *http.Request) bool { return r.Header.Get("X-Role") == "reader" }, Redacted: "<redacted>"}).Register(mux)
	srv := httptest.NewServer(mux)
	// Event streams stay open until their client goes: cut them first.
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	return srv.URL
}

func client(t *testing.T, base string) marathon.Marathon {
	t.Helper()
	cfg := marathon.NewDefaultConfig()
	cfg.URL = base
	cfg.EventsTransport = marathon.EventsTransportSSE
	cfg.PollingWaitTime = 10 * time.Millisecond
	cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	c, err := marathon.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestGoMarathonCalls: go-marathon's calls all decode what the handlers
// answer, over a fake backend.
func TestGoMarathonCalls(t *testing.T) {
	f := newFake()
	base := serve(t, f, clockwork.NewRealClock())
	c := client(t, base)
	if ok, err := c.Ping(); !ok || err != nil {
		t.Fatalf("ping: %v", err)
	}
	info, err := c.Info()
	if err != nil || info.Name != "marathon" || info.Leader != "127.0.0.1:5050" || info.FrameworkID != "headroom-apps" {
		t.Fatalf("info %+v %v", info, err)
	}
	if l, err := c.Leader(); err != nil || l != "127.0.0.1:5050" {
		t.Fatalf("leader %q %v", l, err)
	}
	app := marathon.NewDockerApplication().Name("/prod/web").Command("sleep 100").CPU(0.1).Memory(32).Count(2)
	app.Container.Docker.Container("busybox")
	created, err := c.CreateApplication(app)
	if err != nil || created.ID != "/prod/web" {
		t.Fatalf("create %+v %v", created, err)
	}
	apps, err := c.Applications(url.Values{"embed": {"apps.tasks"}})
	if err != nil || len(apps.Apps) != 1 || len(apps.Apps[0].Tasks) != 2 || apps.Apps[0].Tasks[0].AppID != "/prod/web" {
		t.Fatalf("apps %+v %v", apps, err)
	}
	got, err := c.Application("/prod/web")
	if err != nil || got.ID != "/prod/web" || *got.Instances != 2 || !got.AllTaskRunning() {
		t.Fatalf("get %+v %v", got, err)
	}
	v, err := c.ApplicationVersions("/prod/web")
	if err != nil || len(v.Versions) != 1 {
		t.Fatalf("versions %+v %v", v, err)
	}
	if byVersion, err := c.ApplicationByVersion("/prod/web", v.Versions[0]); err != nil || byVersion.ID != "/prod/web" {
		t.Fatalf("by version %+v %v", byVersion, err)
	}
	d, err := c.ScaleApplicationInstances("/prod/web", 3, false)
	if err != nil || d.DeploymentID == "" {
		t.Fatalf("scale %+v %v", d, err)
	}
	deps, err := c.Deployments()
	if err != nil || len(deps) != 2 || deps[1].AffectedApps[0] != "/prod/web" || len(deps[1].Steps) != 1 || deps[1].Steps[0][0].Action != "RestartApplication" {
		t.Fatalf("deployments %+v %v", deps, err)
	}
	f.finish()
	if err := c.WaitOnDeployment(d.DeploymentID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	got, _ = c.Application("/prod/web")
	if *got.Instances != 3 || got.TasksRunning != 3 || *got.Cmd != "sleep 100" {
		t.Fatalf("after scale %+v", got)
	}
	got.Command("sleep 200")
	if d, err = c.UpdateApplication(got, false); err != nil || d.DeploymentID == "" {
		t.Fatalf("update %+v %v", d, err)
	}
	if d, err = c.RestartApplication("/prod/web", false); err != nil || d.DeploymentID == "" {
		t.Fatalf("restart %+v %v", d, err)
	}
	tasks, err := c.Tasks("/prod/web")
	if err != nil || len(tasks.Tasks) != 3 {
		t.Fatalf("tasks %+v %v", tasks, err)
	}
	all, err := c.AllTasks(&marathon.AllTasksOpts{Status: "running"})
	if err != nil || len(all.Tasks) != 3 {
		t.Fatalf("all tasks %+v %v", all, err)
	}
	killed, err := c.KillTask(tasks.Tasks[0].ID, nil)
	if err != nil || killed.ID != tasks.Tasks[0].ID {
		t.Fatalf("kill task %+v %v", killed, err)
	}
	if _, err := c.KillApplicationTasks("/prod/web", &marathon.KillApplicationTasksOpts{Scale: true}); err != nil {
		t.Fatalf("kill app tasks: %v", err)
	}
	if got, _ := c.Application("/prod/web"); *got.Instances != 0 {
		t.Fatalf("scale=true left %d instances", *got.Instances)
	}
	if q, err := c.Queue(); err != nil || q.Items == nil {
		t.Fatalf("queue %+v %v", q, err)
	}
	groups, err := c.Groups()
	if err != nil || len(groups.Groups) != 1 || groups.Groups[0].ID != "/prod" || groups.Groups[0].Apps[0].ID != "/prod/web" {
		t.Fatalf("groups %+v %v", groups, err)
	}
	if g, err := c.Group("/prod"); err != nil || len(g.Apps) != 1 {
		t.Fatalf("group %+v %v", g, err)
	}
	if _, err := c.DeleteApplication("/prod/web", false); err != nil {
		t.Fatal(err)
	}
	_, err = c.Application("/prod/web")
	if apiErr, ok := err.(*marathon.APIError); !ok || apiErr.ErrCode != marathon.ErrCodeNotFound {
		t.Fatalf("deleted app: %v", err)
	}
}

// TestEventStream: go-marathon's SSE listener gets the stream's status
// updates and deployment ends.
func TestEventStream(t *testing.T) {
	f := newFake()
	base := serve(t, f, clockwork.NewRealClock())
	c := client(t, base)
	events, err := c.AddEventsListener(marathon.EventIDStatusUpdate | marathon.EventIDDeploymentSuccess | marathon.EventIDDeploymentInfo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.RemoveEventsListener(events) })
	if _, err := c.CreateApplication(marathon.NewDockerApplication().Name("/e").Command("sleep 1").CPU(0.1).Memory(16).Count(1)); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	finished := false
	deadline := time.After(20 * time.Second)
	for !seen["status_update_event"] || !seen["deployment_success"] || !seen["deployment_info"] {
		select {
		case ev := <-events:
			seen[ev.Name] = true
			if su, ok := ev.Event.(*marathon.EventStatusUpdate); ok && (su.AppID != "/e" || su.TaskStatus != "TASK_RUNNING") {
				t.Fatalf("status update %+v", su)
			}
			if ev.Name == "deployment_info" && !finished {
				f.finish()
				finished = true
			}
		case <-deadline:
			t.Fatalf("events seen: %v", seen)
		}
	}
}

func post(t *testing.T, method, u, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.NewDecoder(bytes.NewReader(b)).Decode(&out)
	return resp.StatusCode, out
}

// TestWarningsAndErrors: ignored parts come back as warnings; what
// cannot be understood is a 4xx naming the field, and changes nothing.
func TestWarningsAndErrors(t *testing.T) {
	f := newFake()
	base := serve(t, f, clockwork.NewRealClock())
	code, out := post(t, http.MethodPost, base+"/v2/apps",
		`{"id": "/w", "cmd": "sleep 1", "container": {"type": "DOCKER", "docker": {"image": "x"}}, "networks": [{"mode": "container/bridge"}], "ports": null}`)
	if code != http.StatusCreated || out["id"] != "/w" {
		t.Fatalf("create: %d %v", code, out)
	}
	w, _ := json.Marshal(out["warnings"])
	if !strings.Contains(string(w), "container.docker") || !strings.Contains(string(w), "networks[0]") {
		t.Fatalf("warnings %s", w)
	}
	for body, want := range map[string]string{
		`{"id": "/x", "cmd": "sleep 1", "cpus": "one"}`: `cpus`,
		`{"id": "/x", "cmd": "sleep 1", "bogus": 1}`:    `bogus`,
		`{"id": "/x", "cmd": "sleep 1", "cpus": -1}`:    `/cpus`,
	} {
		code, out := post(t, http.MethodPost, base+"/v2/apps", body)
		if code/100 != 4 || !strings.Contains(jsonOf(out), want) {
			t.Errorf("%s: %d %v", body, code, out)
		}
	}
	if _, err := f.AppStatus("x"); err == nil {
		t.Fatal("a refused app was created")
	}
	// A partial PUT of a field keeps the rest; one of a bad type changes
	// nothing.
	if code, out := post(t, http.MethodPut, base+"/v2/apps/w", `{"instances": 2}`); code != http.StatusOK || out["deploymentId"] == "" {
		t.Fatalf("partial put: %d %v", code, out)
	}
	if code, out := post(t, http.MethodPut, base+"/v2/apps/w", `{"instances": "many"}`); code != http.StatusUnprocessableEntity || !strings.Contains(jsonOf(out), `field \"instances\"`) {
		t.Fatalf("bad put: %d %v", code, out)
	}
	st, _ := f.AppStatus("w")
	if st.App.Instances != 2 || st.App.Cmd != "sleep 1" {
		t.Fatalf("after the puts: %+v", st.App)
	}
}

// TestStrict: with strict=true (what headroom's CLI sends) a field
// headroom would ignore is refused, not warned about.
func TestStrict(t *testing.T) {
	f := newFake()
	base := serve(t, f, clockwork.NewRealClock())
	code, out := post(t, http.MethodPost, base+"/v2/apps?strict=true", `{"id": "/s", "cmd": "sleep 1", "container": {"type": "DOCKER"}}`)
	if code != http.StatusBadRequest || !strings.Contains(jsonOf(out), `unknown field \"container\"`) {
		t.Fatalf("strict create: %d %v", code, out)
	}
	if code, out := post(t, http.MethodPost, base+"/v2/apps?strict=true", `{"id": "/s", "cmd": "sleep 1"}`); code != http.StatusCreated || out["warnings"] != nil {
		t.Fatalf("strict create of a plain app: %d %v", code, out)
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestSplitAppPath(t *testing.T) {
	for in, want := range map[string][3]string{
		"web":                          {"web", "", ""},
		"prod/web/":                    {"prod/web", "", ""},
		"prod/web/restart":             {"prod/web", "restart", ""},
		"prod/web/tasks":               {"prod/web", "tasks", ""},
		"prod/web/tasks/prod_web.abc":  {"prod/web", "tasks", "prod_web.abc"},
		"prod/web/versions/2026-01-01": {"prod/web", "versions", "2026-01-01"},
		"tasks/web":                    {"tasks/web", "", ""},
	} {
		id, sub, arg := splitAppPath(in)
		if [3]string{id, sub, arg} != want {
			t.Errorf("%s: %q %q %q, want %q", in, id, sub, arg, want)
		}
	}
}

// TestEnvRedacted: a caller who may not read env values sees the names.
func TestEnvRedacted(t *testing.T) {
	f := newFake()
	base := serve(t, f, clockwork.NewRealClock())
	if code, out := post(t, http.MethodPost, base+"/v2/apps", `{"id": "/r", "cmd": "sleep 1", "env": {"TOKEN": "s3cret"}}`); code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, out)
	}
	for _, path := range []string{"/v2/apps", "/v2/apps/r", "/v2/groups", "/v2/apps/r/versions/" + url.PathEscape(mustVersion(t, f, "r"))} {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("X-Role", "reader")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), "s3cret") || !strings.Contains(string(b), "TOKEN") {
			t.Errorf("GET %s as a reader: %s", path, b)
		}
	}
	if st, _ := f.AppStatus("r"); st.App.Env["TOKEN"] != "s3cret" {
		t.Fatal("redaction changed the app")
	}
}

func mustVersion(t *testing.T, f *fake, id string) string {
	t.Helper()
	st, err := f.AppStatus(id)
	if err != nil {
		t.Fatal(err)
	}
	return st.App.Version
}
