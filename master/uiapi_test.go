package master

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/master/history"
)

// Heartbeats feed the history; the agent's reservation and state pass
// through the master with the master's agent credential; an agent's
// answer about the request passes through, its silence is 502.
func TestUIRoutes(t *testing.T) {
	tm := startLeader(t)
	var gotAuth, gotBody string
	fa := startFakeAgent(t, func(_ *fakeAgent, mux *http.ServeMux) {
		mux.HandleFunc("GET /api/v1/state", func(w http.ResponseWriter, r *http.Request) {
			gotAuth = r.Header.Get("Authorization")
			_, _ = io.WriteString(w, `{"hostname":"h1","applied":{"cpus":1},"tasks":[{"info":{"env":{"SECRET":"x"}}}],"master":{}}`)
		})
		mux.HandleFunc("PUT /api/v1/reservation", func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			gotBody = string(b)
			if strings.Contains(gotBody, "bogus") {
				w.WriteHeader(http.StatusUnprocessableEntity)
				_, _ = io.WriteString(w, `{"message":"invalid reservation override","details":"mode bogus"}`)
				return
			}
			_, _ = io.WriteString(w, `{"applied":{"cpus":0.5}}`)
		})
		mux.HandleFunc("DELETE /api/v1/reservation", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
		})
	})
	tm.m.cfg.AgentToken = "the-agent-token"
	resp := register(t, tm.url, agentproto.RegisterRequest{Hostname: "h1", URL: fa.srv.URL, Revocable: resources.Resources{CPUs: 2, MemBytes: gib}})
	id := resp.AgentID
	hb := agentproto.Heartbeat{AgentID: id, Revocable: resources.Resources{CPUs: 2, MemBytes: gib},
		Used:     resources.Resources{CPUs: 0.5, MemBytes: gib / 4},
		Estimate: agentproto.Estimate{HarvestableCPUs: 2.5, HarvestableMemBytes: gib, CPUReason: "growth", MemReason: "predictor", BusinessCPUs: 1.5}}
	if code, _, body := heartbeat(t, tm.url, hb); code != http.StatusOK {
		t.Fatalf("heartbeat: %d %s", code, body)
	}

	var v history.View
	getJSON(t, tm.url+"/api/v1/history?agent="+id, &v)
	if n := len(v.Fine.T); n != 1 || v.Fine.HarvestCPUs[0] != 2.5 || v.Fine.BatchCPUs[0] != 0.5 ||
		v.Fine.ReservedCPUs[0] != 2 || v.Fine.BusinessCPUs[0] != 1.5 || v.Fine.CPUReason[0] != "growth" {
		t.Errorf("agent history = %+v", v.Fine)
	}
	// Under an operator override the reservation's reason is the override.
	hb.Override = "fixed"
	if code, _, body := heartbeat(t, tm.url, hb); code != http.StatusOK {
		t.Fatalf("heartbeat: %d %s", code, body)
	}
	getJSON(t, tm.url+"/api/v1/history?agent="+id, &v)
	if last := len(v.Fine.T) - 1; v.Fine.CPUReason[last] != "override fixed" || v.Fine.MemReason[last] != "override fixed" {
		t.Errorf("reasons under an override = %v %v", v.Fine.CPUReason, v.Fine.MemReason)
	}
	getJSON(t, tm.url+"/api/v1/history", &v)
	if len(v.Fine.T) != 1 || v.Fine.HarvestCPUs[0] != 2.5 {
		t.Errorf("cluster history = %+v", v.Fine)
	}
	if code, _, body := call(t, http.MethodGet, tm.url+"/api/v1/history?agent=nope", nil); code != http.StatusNotFound {
		t.Errorf("unknown agent's history: %d %s", code, body)
	}

	var state map[string]json.RawMessage
	getJSON(t, tm.url+"/api/v1/agents/"+id+"/state", &state)
	if gotAuth != "Bearer the-agent-token" {
		t.Errorf("the agent got Authorization %q", gotAuth)
	}
	if _, ok := state["tasks"]; ok || string(state["hostname"]) != `"h1"` {
		t.Errorf("state = %s", state)
	}
	code, _, body := call(t, http.MethodPut, tm.url+"/api/v1/agents/"+id+"/reservation", `{"mode":"cap","cpus":0.5}`)
	if code != http.StatusOK || gotBody != `{"mode":"cap","cpus":0.5}` || !strings.Contains(string(body), "0.5") {
		t.Errorf("override: %d %s (agent got %s)", code, body, gotBody)
	}
	if code, _, body := call(t, http.MethodPut, tm.url+"/api/v1/agents/"+id+"/reservation", `{"mode":"bogus"}`); code != http.StatusUnprocessableEntity || !strings.Contains(string(body), "mode bogus") {
		t.Errorf("bad override: %d %s", code, body)
	}
	if code, _, body := call(t, http.MethodDelete, tm.url+"/api/v1/agents/"+id+"/reservation", nil); code != http.StatusBadGateway {
		t.Errorf("an agent failing: %d %s, want 502", code, body)
	}
	for _, p := range []string{"/api/v1/agents/nope/state", "/api/v1/tasks/nope/files", "/api/v1/tasks/nope/files/read?path=stdout"} {
		if code, _, body := call(t, http.MethodGet, tm.url+p, nil); code != http.StatusNotFound {
			t.Errorf("%s: %d %s, want 404", p, code, body)
		}
	}
}

// A standby sends the UI's pages and their data to the leader, as it does
// the API; the leader serves the pages without a credential.
func TestUIOnStandbyRedirects(t *testing.T) {
	leader := startLeader(t)
	standby := startStandby(t, leader)
	for _, p := range []string{"/ui/", "/ui/app.js", "/api/v1/history", "/api/v1/tasks/t1/files/read?path=stdout"} {
		code, hdr, data := call(t, http.MethodGet, standby.url+p, nil)
		if code != http.StatusTemporaryRedirect || hdr.Get("Location") != leader.url+p {
			t.Errorf("GET %s on the standby: %d Location %q, want 307 to the leader: %s", p, code, hdr.Get("Location"), data)
		}
	}
	code, hdr, data := call(t, http.MethodGet, leader.url+"/ui/", nil)
	if code != http.StatusOK || !strings.Contains(hdr.Get("Content-Type"), "text/html") || !strings.Contains(string(data), "app.js") {
		t.Errorf("GET /ui/ on the leader: %d %s", code, hdr.Get("Content-Type"))
	}
}

// An agent the core forgets leaves the history too: the term tells the
// feed (master/term's TestForgetGoneTellsTheObserver), and the feed
// forgets it.
func TestHistoryForgetsGoneAgents(t *testing.T) {
	h := history.New(history.Config{})
	feed := historyFeed{h}
	feed.AgentHeartbeat("a", agentproto.Heartbeat{AgentID: "a"}, time.Unix(1e9, 0))
	feed.AgentHeartbeat("b", agentproto.Heartbeat{AgentID: "b"}, time.Unix(1e9, 0))
	feed.AgentGone("a")
	if n := h.Agents(); n != 1 {
		t.Fatalf("%d agents in the history, want b alone", n)
	}
	if _, err := h.Agent("a"); err == nil {
		t.Error("a is gone and still has a series")
	}
}
