package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	marathon "github.com/gambol99/go-marathon"

	"github.com/headroom-dev/headroom/internal/testutil"
)

// bearer adds a credential to every request of a client that knows only
// Marathon's own authentication schemes.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// TestMarathonClient drives every Marathon call a client uses with
// gambol99/go-marathon v0.7.1 against a real master and agent: ping,
// info, leader, apps (create, list with embedded tasks, get, versions,
// scale, update, restart, delete), tasks (all, of an app, kill one, kill
// all), deployments, the launch queue, groups and the event stream.
func TestMarathonClient(t *testing.T) {
	c := newCluster(t)
	base, _ := c.startClientMaster(freeAddr(t))
	c.startAgentAt("agent-marathon", base, freeAddr(t), "--dedicated", "cpus=1,mem=1GiB")
	c.waitAgents(1)

	httpClient := &http.Client{Timeout: 30 * time.Second, Transport: bearer{token: c.token, next: http.DefaultTransport}}
	cfg := marathon.NewDefaultConfig()
	cfg.URL = base
	cfg.HTTPClient = httpClient
	cfg.EventsTransport = marathon.EventsTransportSSE
	cfg.PollingWaitTime = 200 * time.Millisecond
	client, err := marathon.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}

	if ok, err := client.Ping(); !ok || err != nil {
		t.Fatalf("ping: %v %v", ok, err)
	}
	info, err := client.Info()
	if err != nil || info.Leader == "" || info.Name == "" {
		t.Fatalf("info: %+v %v", info, err)
	}
	if leader, err := client.Leader(); err != nil || leader == "" {
		t.Fatalf("leader: %q %v", leader, err)
	}

	// The event stream first, so the launch's updates are on it.
	events, err := client.AddEventsListener(marathon.EventIDStatusUpdate | marathon.EventIDDeploymentSuccess | marathon.EventIDAPIRequest)
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	t.Cleanup(func() { client.RemoveEventsListener(events) })

	const id = "/compat/sleeper"
	app := marathon.NewDockerApplication().Name(id).Command("sleep 600").CPU(0.1).Memory(32).Count(1)
	app.Container.Docker.Container("busybox") // accepted, ignored, reported in warnings
	app.AddLabel("team", "compat")
	app.AddEnv("GREETING", "hello")
	app.AddHealthCheck(marathon.HealthCheck{Protocol: "COMMAND", Command: &marathon.Command{Value: "true"}})
	created, err := client.CreateApplication(app)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.ID != id {
		t.Fatalf("created %q, want %q", created.ID, id)
	}
	if err := client.WaitOnApplication(id, 90*time.Second); err != nil {
		t.Fatalf("waiting for the app: %v", err)
	}

	apps, err := client.Applications(url.Values{"embed": {"apps.tasks"}})
	if err != nil || len(apps.Apps) != 1 || len(apps.Apps[0].Tasks) != 1 || apps.Apps[0].Tasks[0].AppID != id {
		t.Fatalf("apps with tasks: %+v %v", apps, err)
	}
	got, err := client.Application(id)
	if err != nil || got.ID != id || (*got.Labels)["team"] != "compat" || got.TasksRunning != 1 {
		t.Fatalf("get: %+v %v", got, err)
	}
	versions, err := client.ApplicationVersions(id)
	if err != nil || len(versions.Versions) == 0 {
		t.Fatalf("versions: %+v %v", versions, err)
	}

	waitDeployment := func(d *marathon.DeploymentID, err error, what string) {
		t.Helper()
		if err != nil || d.DeploymentID == "" {
			t.Fatalf("%s: %+v %v", what, d, err)
		}
		if err := client.WaitOnDeployment(d.DeploymentID, 90*time.Second); err != nil {
			t.Fatalf("%s: waiting on deployment %s: %v", what, d.DeploymentID, err)
		}
	}
	d, err := client.ScaleApplicationInstances(id, 2, false)
	waitDeployment(d, err, "scale")
	deployments, err := client.Deployments()
	if err != nil {
		t.Fatalf("deployments: %v", err)
	}
	_ = deployments
	got, _ = client.Application(id)
	got.Command("sleep 601")
	d, err = client.UpdateApplication(got, false)
	waitDeployment(d, err, "update")
	d, err = client.RestartApplication(id, false)
	waitDeployment(d, err, "restart")
	if err := client.WaitOnApplication(id, 90*time.Second); err != nil {
		t.Fatalf("waiting for the app: %v", err)
	}

	tasks, err := client.Tasks(id)
	if err != nil || len(tasks.Tasks) != 2 {
		t.Fatalf("tasks of the app: %+v %v", tasks, err)
	}
	all, err := client.AllTasks(&marathon.AllTasksOpts{Status: "running"})
	if err != nil || len(all.Tasks) != 2 {
		t.Fatalf("all tasks: %+v %v", all, err)
	}
	killed, err := client.KillTask(tasks.Tasks[0].ID, nil)
	if err != nil || killed.ID != tasks.Tasks[0].ID {
		t.Fatalf("kill one task: %+v %v", killed, err)
	}
	if _, err := client.KillApplicationTasks(id, nil); err != nil {
		t.Fatalf("kill the app's tasks: %v", err)
	}
	if _, err := client.Queue(); err != nil {
		t.Fatalf("queue: %v", err)
	}
	groups, err := client.Groups()
	if err != nil || len(groups.Groups) != 1 || groups.Groups[0].ID != "/compat" || groups.Groups[0].Apps[0].ID != id {
		t.Fatalf("groups: %+v %v", groups, err)
	}

	seen := map[string]bool{}
	deadline := time.After(60 * time.Second)
	for !seen["status_update_event"] || !seen["deployment_success"] {
		select {
		case ev := <-events:
			seen[ev.Name] = true
			if su, ok := ev.Event.(*marathon.EventStatusUpdate); ok && su.AppID != id {
				t.Fatalf("status update of %q", su.AppID)
			}
		case <-deadline:
			t.Fatalf("events seen %v, want status updates and deployment successes", seen)
		}
	}

	d, err = client.DeleteApplication(id, false)
	if err != nil || d.DeploymentID == "" {
		t.Fatalf("delete: %+v %v", d, err)
	}
	testutil.Eventually(t, 30*time.Second, 200*time.Millisecond, func() bool {
		_, err := client.Application(id)
		apiErr, ok := err.(*marathon.APIError)
		return ok && apiErr.ErrCode == marathon.ErrCodeNotFound
	}, "the app gone")
}

// TestMarathonAppWarnings: a Marathon document with parts headroom
// cannot honour is accepted; the answer lists them in warnings, and a
// value of the wrong type is still a 400 naming the field.
func TestMarathonAppWarnings(t *testing.T) {
	c := newCluster(t)
	addr := freeAddr(t)
	c.startMaster(addr)
	base := "http://" + addr
	post := func(body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, base+"/v2/apps", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Content-Type", "application/json")
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
	testutil.Eventually(t, 60*time.Second, 100*time.Millisecond, func() bool {
		req, _ := http.NewRequest(http.MethodGet, base+"/v2/info", nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "the master leading")
	code, out := post(`{"id": "/w", "cmd": "sleep 1", "container": {"type": "DOCKER", "docker": {"image": "x"}}, "networks": [{"mode": "container/bridge"}], "ports": [0]}`)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, out)
	}
	warnings, _ := json.Marshal(out["warnings"])
	for _, want := range []string{"container.docker", "networks[0]", "ports[0]"} {
		if !strings.Contains(string(warnings), want) {
			t.Errorf("warnings %s lack %s", warnings, want)
		}
	}
	if code, out := post(`{"id": "/x", "cmd": "sleep 1", "cpus": "one"}`); code != http.StatusBadRequest || !strings.Contains(jsonString(out), "cpus") {
		t.Fatalf("wrong type: %d %v", code, out)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
