package master

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/internal/testutil"
	"github.com/headroom-dev/headroom/master/apps"
	"github.com/headroom-dev/headroom/master/jobs"
)

// TestWaitReasonsOverHTTP is a new user's first hour: an agent with no
// harvest yet and half a core of dedicated capacity, a revocable app, a
// non-revocable app too big for the agent and a revocable job run. Each
// says why it waits in the API.
func TestWaitReasonsOverHTTP(t *testing.T) {
	tm := startLeader(t)
	base := tm.url
	fa := startFakeAgent(t)
	dedicated := resources.Resources{CPUs: 0.5, MemBytes: 2 * gib}
	agentID := register(t, base, agentproto.RegisterRequest{Hostname: "h1", URL: fa.srv.URL, Dedicated: dedicated}).AgentID
	startAgentLoop(t, base, agentproto.Heartbeat{AgentID: agentID, Dedicated: dedicated}, 100*time.Millisecond)

	for _, def := range []string{
		`{"id": "/web", "cmd": "sleep 1000", "cpus": 0.25, "mem": 64, "revocable": true}`,
		`{"id": "/big", "cmd": "sleep 1000", "cpus": 2, "mem": 64, "revocable": false}`,
	} {
		if code, _, body := call(t, http.MethodPost, base+"/v2/apps", def); code != http.StatusCreated {
			t.Fatalf("creating %s: %d %s", def, code, body)
		}
	}
	if code, _, body := call(t, http.MethodPost, base+"/v1/jobs", `{"id": "report", "run": {"cmd": "true", "cpus": 0.25, "mem": 64}}`); code != http.StatusCreated {
		t.Fatalf("creating the job: %d %s", code, body)
	}
	if code, _, body := call(t, http.MethodPost, base+"/v1/jobs/report/runs", nil); code != http.StatusCreated {
		t.Fatalf("starting a run: %d %s", code, body)
	}

	appReason := func(id string) string {
		var v struct {
			App struct {
				Reason      string    `json:"reason"`
				ReasonSince time.Time `json:"reasonSince"`
			} `json:"app"`
		}
		getJSON(t, base+"/v2/apps/"+id, &v)
		if v.App.Reason != "" && v.App.ReasonSince.IsZero() {
			t.Errorf("app %s: reason %q without a since", id, v.App.Reason)
		}
		return v.App.Reason
	}
	wantBig := "no offer fits: short of 1.5 CPU (largest free 0.5 on agent " + agentID + ")"
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, func() bool {
		return appReason("web") == apps.ReasonNoRevocable && appReason("big") == wantBig
	}, "apps never said why they wait")

	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, func() bool {
		var v struct {
			Active []jobs.Run `json:"active"`
		}
		getJSON(t, base+"/v1/jobs/report/runs", &v)
		return len(v.Active) == 1 && v.Active[0].Reason == apps.ReasonNoRevocable
	}, "the job run never said why it waits")

	if got := appReason("web"); !strings.Contains(got, `"revocable": false`) || !strings.Contains(got, "--dedicated") {
		t.Fatalf("the revocable app's reason %q names neither way out", got)
	}
	if n := len(fa.Launches()); n != 0 {
		t.Fatalf("%d launches, want none: nothing fits", n)
	}
}

// TestUnknownAppIs404First: every app route answers 404 "app /nope not
// found" for an app that does not exist, before it looks at the body: a
// scale of a missing app is not a definition lacking its command.
func TestUnknownAppIs404First(t *testing.T) {
	tm := startLeader(t)
	cases := []struct {
		method, path string
		body         any
	}{
		{http.MethodPut, "/v2/apps/nope", `{"instances": 2}`},
		{http.MethodPut, "/v2/apps/nope", `{"instances": -1, "mem": "lots"}`},
		{http.MethodPatch, "/v2/apps/nope", `{"cmd": "sleep 1", "instances": 2}`},
		{http.MethodGet, "/v2/apps/nope", nil},
		{http.MethodDelete, "/v2/apps/nope", nil},
		{http.MethodPost, "/v2/apps/nope/restart", nil},
		{http.MethodGet, "/v2/apps/nope/tasks", nil},
		{http.MethodPost, "/v2/apps/nope", `{}`},
	}
	for _, tc := range cases {
		code, _, body := call(t, tc.method, tm.url+tc.path, tc.body)
		var e map[string]any
		_ = json.Unmarshal(body, &e)
		if code != http.StatusNotFound || len(e) != 1 || e["message"] != "app /nope not found" {
			t.Errorf("%s %s: %d %s, want 404 {\"message\":\"app /nope not found\"}", tc.method, tc.path, code, body)
		}
	}
	// A full definition still creates the app, as Marathon's PUT does.
	if code, _, body := call(t, http.MethodPut, tm.url+"/v2/apps/nope", `{"cmd": "sleep 1000", "cpus": 0.1, "mem": 16}`); code != http.StatusCreated {
		t.Fatalf("PUT of a new app: %d %s, want 201", code, body)
	}
}

// TestFrameworkReasonOverHTTP: a framework that refuses revocable
// resources, on a cluster whose only agent has nothing else, is told why
// it gets no offers.
func TestFrameworkReasonOverHTTP(t *testing.T) {
	tm := startLeader(t)
	base := tm.url
	fa := startFakeAgent(t)
	harvest := resources.Resources{CPUs: 4, MemBytes: 4 * gib}
	id := register(t, base, agentproto.RegisterRequest{Hostname: "h1", URL: fa.srv.URL, Revocable: harvest}).AgentID
	startAgentLoop(t, base, agentproto.Heartbeat{AgentID: id, Revocable: harvest}, 100*time.Millisecond)
	subscribeFramework(t, base, scheduler.FrameworkInfo{Name: "steady"})
	want := "no agent has dedicated capacity, and the framework does not accept revocable resources"
	var last []FrameworkView
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, func() bool {
		getJSON(t, base+"/api/v1/frameworks", &last)
		return len(last) == 1 && last[0].Reason == want
	}, "the framework never said why it gets no offers")
}

// An app posted without revocable, as a Marathon client posts it, prefers
// harvested capacity and is placed on dedicated capacity while the harvest
// is zero; its task is launched into the dedicated pool.
func TestAppWithoutRevocableFallsBackToDedicated(t *testing.T) {
	tm := startLeader(t)
	fa := startFakeAgent(t)
	dedicated := resources.Resources{CPUs: 0.5, MemBytes: 2 * gib}
	agentID := register(t, tm.url, agentproto.RegisterRequest{Hostname: "h1", URL: fa.srv.URL, Dedicated: dedicated}).AgentID
	startAgentLoop(t, tm.url, agentproto.Heartbeat{AgentID: agentID, Dedicated: dedicated}, 100*time.Millisecond)
	if code, _, body := call(t, http.MethodPost, tm.url+"/v2/apps", `{"id": "/web", "cmd": "sleep 1000", "cpus": 0.25, "mem": 64}`); code != http.StatusCreated {
		t.Fatalf("creating the app: %d %s", code, body)
	}
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, func() bool { return len(fa.Launches()) == 1 },
		"the app was never launched on the dedicated capacity")
	if l := fa.Launches()[0]; l.Revocable || l.Name != "web" {
		t.Fatalf("launched %s revocable %v, want web on the dedicated pool", l.Name, l.Revocable)
	}
}
