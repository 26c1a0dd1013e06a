package master

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/auth"
	"github.com/headroom-dev/headroom/internal/testutil"
	"github.com/headroom-dev/headroom/master/httpapi"
	"github.com/headroom-dev/headroom/master/store"
)

// Tokens of testCredentials, by credential id.
var testTokens = map[string]string{
	"ops": "ops-token", "ui": "reader-token", "agent": "agent-token", "agent2": "agent2-token",
	"web-1": "web-1-token", "fw": "framework-token", "fw2": "framework2-token",
}

// testCredentials: one credential per role, a second agent credential,
// and a per-agent credential bound to agent web-1.
func testCredentials(t *testing.T) *auth.Set {
	t.Helper()
	h := auth.TokenHash
	file := fmt.Sprintf(`credentials:
  - {id: ops, role: operator, token_sha256: %s}
  - {id: ui, role: reader, token_sha256: %s}
  - {id: agent, role: agent, token_sha256: %s}
  - {id: agent2, role: agent, token_sha256: %s}
  - {id: web-1, role: agent, agent_id: web-1, token_sha256: %s}
  - {id: fw, role: framework, token_sha256: %s}
  - {id: fw2, role: framework, token_sha256: %s}
`, h(testTokens["ops"]), h(testTokens["ui"]), h(testTokens["agent"]), h(testTokens["agent2"]), h(testTokens["web-1"]), h(testTokens["fw"]), h(testTokens["fw2"]))
	p := filepath.Join(t.TempDir(), "credentials.yaml")
	if err := os.WriteFile(p, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := auth.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// countingObserver records the refused registrations.
type countingObserver struct {
	nopObserver
	mu      sync.Mutex
	refused map[string]int
}

func (o *countingObserver) AgentRegistrationRefused(reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.refused[reason]++
}

func (o *countingObserver) count(reason string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.refused[reason]
}

// concrete turns a route pattern into requests that route to it.
func concrete(pattern string) []struct{ method, path string } {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "", pattern
	}
	path = strings.NewReplacer("{id}", "x", "{sid}", "s", "{runId}", "r").Replace(path)
	if strings.HasSuffix(path, "/") {
		path += "x"
	}
	if method != "" {
		return []struct{ method, path string }{{method, path}}
	}
	var out []struct{ method, path string }
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPost} {
		out = append(out, struct{ method, path string }{m, path})
	}
	return out
}

// Every registered route has a rule, and every route × role gets what the
// table says: 401 without a known token (but the public routes), 403 for
// a role the rule does not allow, the handler's own answer otherwise.
func TestRouteAccess(t *testing.T) {
	tm := startMaster(t, openEmbeddedStore(t), func(c *Config) { c.Credentials = testCredentials(t) })
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, tm.m.Leading, "the master never became leader")
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	h, patterns := tm.m.routes(metrics)
	rules := httpapi.RouteRules()
	for _, p := range patterns {
		if _, ok := rules[p]; !ok {
			t.Errorf("route %q has no access rule in routeRules", p)
		}
	}
	for p := range rules {
		if !slices.Contains(patterns, p) {
			t.Errorf("routeRules has %q, which is not a route", p)
		}
	}
	// What the table must say, whatever else changes in it.
	for _, c := range []struct {
		pattern string
		role    auth.Role
		method  string
		allowed bool
	}{
		{"POST /api/v1/agents/register", auth.Agent, "POST", true},
		{"POST /api/v1/agents/{id}/heartbeat", auth.Agent, "POST", true},
		{"POST /api/v1/agents/register", auth.Framework, "POST", false},
		{"POST /api/v1/agents/register", auth.Reader, "POST", false},
		{"POST /api/v1/scheduler", auth.Framework, "POST", true},
		{"POST /api/v1/scheduler", auth.Agent, "POST", false},
		{"POST /v2/apps", auth.Agent, "POST", false},
		{"POST /v2/apps", auth.Framework, "POST", false},
		{"/v2/apps/", auth.Reader, "GET", true},
		{"/v2/apps/", auth.Reader, "PUT", false},
		{"/v2/apps/", auth.Agent, "GET", false},
		{"PUT /api/v1/agents/{id}/attributes", auth.Agent, "PUT", false},
		{"POST /api/v1/tasks/{id}/kill", auth.Framework, "POST", false},
		{"GET /api/v1/state", auth.Reader, "GET", true},
		{"GET /api/v1/frameworks", auth.Framework, "GET", true},
		{"GET /api/v1/frameworks", auth.Agent, "GET", false},
		{"POST /v1/jobs", auth.Reader, "POST", false},
	} {
		if got := rules[c.pattern].Allows(c.role, c.method); got != c.allowed {
			t.Errorf("routeRules: %s may %s %s: %v, want %v", c.role, c.method, c.pattern, got, c.allowed)
		}
	}
	callers := []struct {
		name, token string
		role        auth.Role
	}{
		{"anonymous", "", ""}, {"wrong token", "not-a-token", ""},
		{"operator", testTokens["ops"], auth.Operator}, {"reader", testTokens["ui"], auth.Reader},
		{"agent", testTokens["agent"], auth.Agent}, {"framework", testTokens["fw"], auth.Framework},
	}
	checked := 0
	for _, p := range patterns {
		rule := rules[p]
		for _, rq := range concrete(p) {
			for _, c := range callers {
				req := httptest.NewRequest(rq.method, rq.path, bytes.NewReader([]byte("{}")))
				if c.token != "" {
					req.Header.Set("Authorization", "Bearer "+c.token)
				}
				// The scheduler API's SUBSCRIBE streams; nothing here
				// subscribes, but bound every call anyway.
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req.WithContext(ctx))
				cancel()
				checked++
				var want string
				switch {
				case rule.Public:
					want = "served"
				case c.role == "":
					want = "401"
				case !rule.Allows(c.role, rq.method):
					want = "403"
				default:
					want = "served"
				}
				got := rec.Code
				ok := map[string]bool{
					"401":    got == http.StatusUnauthorized,
					"403":    got == http.StatusForbidden,
					"served": got != http.StatusUnauthorized && got != http.StatusForbidden,
				}[want]
				if !ok {
					t.Errorf("%s %s as %s: %d, want %s (%s)", rq.method, rq.path, c.name, got, want, truncate(rec.Body.Bytes()))
				}
				// A read without path parameters answers 2xx to whoever
				// may make it.
				if want == "served" && rq.method == http.MethodGet && !strings.Contains(p, "{") && !strings.HasSuffix(p, "/") && got/100 != 2 {
					t.Errorf("%s %s as %s: %d, want 2xx (%s)", rq.method, rq.path, c.name, got, truncate(rec.Body.Bytes()))
				}
			}
		}
	}
	if checked < len(rules)*len(callers) {
		t.Fatalf("only %d requests checked", checked)
	}
}

// authed makes one request with a bearer token.
func authed(t *testing.T, method, url, token string, body any) (int, []byte) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes()
}

// S4: an agent id is bound to the credential that first registered it;
// another credential, a per-agent credential for another id, or the same
// credential from another URL while the agent heartbeats, are refused with
// 403 and a reason, counted by reason, and change nothing.
func TestAgentIdentityBinding(t *testing.T) {
	obs := &countingObserver{refused: map[string]int{}}
	tm := startMaster(t, openEmbeddedStore(t), func(c *Config) {
		c.Credentials = testCredentials(t)
		c.Metrics = obs
	})
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, tm.m.Leading, "the master never became leader")
	base := tm.url
	real := startFakeAgent(t)
	fake := "http://127.0.0.1:9"

	code, body := authed(t, "POST", base+"/api/v1/agents/register", testTokens["agent"], agentproto.RegisterRequest{Hostname: "h1", URL: real.srv.URL})
	if code != http.StatusOK {
		t.Fatalf("first registration: %d %s", code, body)
	}
	var reg agentproto.RegisterResponse
	if err := json.Unmarshal(body, &reg); err != nil {
		t.Fatal(err)
	}
	id := reg.AgentID
	hb := agentproto.Heartbeat{AgentID: id}
	beat := func(token string) (int, []byte) {
		return authed(t, "POST", base+"/api/v1/agents/"+id+"/heartbeat", token, hb)
	}
	if code, body := beat(testTokens["agent"]); code != http.StatusOK {
		t.Fatalf("heartbeat: %d %s", code, body)
	}
	var rec agentRecord
	if found, err := tm.st.Docs(store.Agents).Get(context.Background(), id, &rec); err != nil || !found || rec.Credential != "agent" {
		t.Fatalf("stored record %+v (found %v, %v): want it bound to credential \"agent\"", rec, found, err)
	}
	raw, _ := json.Marshal(rec)
	if strings.Contains(string(raw), testTokens["agent"]) || strings.Contains(string(raw), auth.TokenHash(testTokens["agent"])) {
		t.Fatalf("the stored record holds the token or its hash: %s", raw)
	}

	refusals := []struct {
		name, token, agentID, url, reason string
		code                              int
	}{
		{"another agent credential", testTokens["agent2"], id, real.srv.URL, RefusedCredential, 403},
		{"the operator's credential", testTokens["ops"], id, fake, RefusedCredential, 403},
		{"the same credential from another URL", testTokens["agent"], id, fake, RefusedSessionAlive, 403},
		{"a per-agent credential for another id", testTokens["web-1"], id, fake, RefusedAgentID, 403},
		{"a reader", testTokens["ui"], id, fake, "", 403},
		{"a framework", testTokens["fw"], id, fake, "", 403},
		{"no credential", "", id, fake, "", 401},
	}
	for _, r := range refusals {
		before := obs.count(r.reason)
		code, body := authed(t, "POST", base+"/api/v1/agents/register", r.token, agentproto.RegisterRequest{AgentID: r.agentID, Hostname: "h1", URL: r.url})
		if code != r.code {
			t.Errorf("registration with %s: %d %s, want %d", r.name, code, body, r.code)
		}
		if r.reason != "" {
			checkErrorBody(t, body, "")
			if obs.count(r.reason) != before+1 {
				t.Errorf("registration with %s: %s counted %d times, want %d", r.name, r.reason, obs.count(r.reason), before+1)
			}
		}
	}
	code, body = authed(t, "GET", base+"/api/v1/agents", testTokens["ui"], nil)
	var views []AgentView
	if err := json.Unmarshal(body, &views); code != http.StatusOK || err != nil || len(views) != 1 {
		t.Fatalf("GET /api/v1/agents as a reader: %d %s", code, body)
	}
	ag := views[0]
	if ag.URL != real.srv.URL || ag.State != AgentActive || ag.Credential != "agent" {
		t.Fatalf("after the refusals the agent is %+v", ag)
	}
	// Heartbeats for it from another credential are refused too.
	for _, tok := range []string{testTokens["agent2"], testTokens["web-1"]} {
		if code, body := beat(tok); code != http.StatusForbidden {
			t.Errorf("heartbeat from another credential: %d %s, want 403", code, body)
		}
	}
	// Its own credential re-registers from the same URL (an agent restart).
	if code, body := authed(t, "POST", base+"/api/v1/agents/register", testTokens["agent"], agentproto.RegisterRequest{AgentID: id, Hostname: "h1", URL: real.srv.URL}); code != http.StatusOK {
		t.Fatalf("re-registration from the same URL: %d %s", code, body)
	}
	// A per-agent credential registers as its own id, whatever it asks.
	code, body = authed(t, "POST", base+"/api/v1/agents/register", testTokens["web-1"], agentproto.RegisterRequest{Hostname: "h2", URL: fake})
	if err := json.Unmarshal(body, &reg); code != http.StatusOK || err != nil || reg.AgentID != "web-1" {
		t.Fatalf("per-agent registration: %d %s", code, body)
	}
	// Once silent for the agent timeout, the agent may move to another
	// URL with its credential.
	testutil.Eventually(t, 30*time.Second, 200*time.Millisecond, func() bool {
		code, _ := authed(t, "POST", base+"/api/v1/agents/register", testTokens["agent"], agentproto.RegisterRequest{AgentID: id, Hostname: "h1", URL: fake})
		return code == http.StatusOK
	}, "the silent agent's id accepted from another URL")
}

// subscribeAs opens a SUBSCRIBE with a credential and returns its status
// (the stream, if any, is closed at once) and the framework id it got.
func subscribeAs(t *testing.T, base, token, id string) (int, string) {
	t.Helper()
	idField := ""
	if id != "" {
		idField = fmt.Sprintf(`,"id":{"value":%q}`, id)
	}
	body := fmt.Sprintf(`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"q","roles":["batch"]%s}}}`, idField)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/scheduler", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	// One event per line, as headroom's own client reads the stream.
	req.Header.Set("Accept", "application/x-ndjson")
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, ""
	}
	var ev struct {
		Subscribed struct {
			FrameworkID struct {
				Value string `json:"value"`
			} `json:"framework_id"`
		} `json:"subscribed"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ev); err != nil {
		t.Fatalf("the SUBSCRIBED event: %v", err)
	}
	return resp.StatusCode, ev.Subscribed.FrameworkID.Value
}

// A framework id is bound to the credential that first subscribed it:
// another framework credential may not take over its stream, the same one
// may re-subscribe.
func TestFrameworkIdentityBinding(t *testing.T) {
	tm := startMaster(t, openEmbeddedStore(t), func(c *Config) { c.Credentials = testCredentials(t) })
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, tm.m.Leading, "the master never became leader")
	code, id := subscribeAs(t, tm.url, testTokens["fw"], "")
	if code != http.StatusOK || id == "" {
		t.Fatalf("first subscription: %d %q", code, id)
	}
	for _, tok := range []string{testTokens["fw2"], testTokens["ops"]} {
		if code, _ := subscribeAs(t, tm.url, tok, id); code != http.StatusForbidden {
			t.Errorf("subscribing as %s with another credential: %d, want 403", id, code)
		}
	}
	testutil.Eventually(t, 10*time.Second, 50*time.Millisecond, func() bool {
		code, got := subscribeAs(t, tm.url, testTokens["fw"], id)
		return code == http.StatusOK && got == id
	}, "the framework re-subscribing with its own credential")
	var rec frameworkRecord
	if found, err := tm.st.Docs(store.Frameworks).Get(context.Background(), id, &rec); err != nil || !found || rec.Credential != "fw" {
		t.Fatalf("stored framework %+v (found %v, %v): want it bound to credential fw", rec, found, err)
	}
}

// The ids of the master's own frameworks (apps, jobs) are never bound to a
// credential, so without a check any framework credential (any caller of
// an --insecure master) could subscribe as one: get every app task's
// updates, kill app tasks, and leave the "framework" disconnected so that
// its tasks expire after the failover timeout. Every credential is
// refused, with a reason naming the field, and nothing is stored.
func TestBuiltinFrameworkIDsRefused(t *testing.T) {
	st := openEmbeddedStore(t)
	// One such record, left by a subscription before it was refused: a
	// master loading it would remove the "framework" after its failover
	// timeout, killing every app task.
	if err := st.Docs(store.Frameworks).Put(context.Background(), AppsFrameworkID,
		frameworkRecord{ID: AppsFrameworkID, Name: "q", FailoverTimeout: time.Millisecond, Credential: "fw"}); err != nil {
		t.Fatal(err)
	}
	tm := startMaster(t, st, func(c *Config) { c.Credentials = testCredentials(t) })
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, tm.m.Leading, "the master never became leader")
	views, err := tm.m.Frameworks()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range views {
		if v.ID == AppsFrameworkID {
			t.Fatalf("the master loaded a stored framework %s: %+v", v.ID, v)
		}
	}
	if err := st.Docs(store.Frameworks).Delete(context.Background(), AppsFrameworkID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{AppsFrameworkID, JobsFrameworkID} {
		for _, who := range []string{"fw", "ops"} {
			if code, got := subscribeAs(t, tm.url, testTokens[who], id); code != http.StatusForbidden {
				t.Errorf("credential %s subscribing as %s: %d (framework %q), want 403", who, id, code, got)
			}
		}
		var rec frameworkRecord
		if found, err := tm.st.Docs(store.Frameworks).Get(context.Background(), id, &rec); err != nil || found {
			t.Errorf("framework %s stored after the refusals: %+v (%v)", id, rec, err)
		}
	}
}

// A framework credential lists only the frameworks it subscribed (the
// example framework reads its own wait reason there); a reader sees all.
func TestFrameworkListOwnCredential(t *testing.T) {
	tm := startMaster(t, openEmbeddedStore(t), func(c *Config) { c.Credentials = testCredentials(t) })
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, tm.m.Leading, "the master never became leader")
	ids := map[string]string{}
	for _, cred := range []string{"fw", "fw2"} {
		code, id := subscribeAs(t, tm.url, testTokens[cred], "")
		if code != http.StatusOK || id == "" {
			t.Fatalf("subscribing as %s: %d %q", cred, code, id)
		}
		ids[cred] = id
	}
	list := func(cred string) []string {
		t.Helper()
		code, body := authed(t, http.MethodGet, tm.url+"/api/v1/frameworks", testTokens[cred], nil)
		if code != http.StatusOK {
			t.Fatalf("GET /api/v1/frameworks as %s: %d %s", cred, code, body)
		}
		var fws []FrameworkView
		if err := json.Unmarshal(body, &fws); err != nil {
			t.Fatalf("GET /api/v1/frameworks as %s: %v: %s", cred, err, body)
		}
		var got []string
		for _, fw := range fws {
			got = append(got, fw.ID)
		}
		slices.Sort(got)
		return got
	}
	for cred, want := range map[string][]string{"fw": {ids["fw"]}, "fw2": {ids["fw2"]}, "ui": slices.Sorted(maps.Values(ids))} {
		if got := list(cred); !slices.Equal(got, want) {
			t.Errorf("GET /api/v1/frameworks as %s: %v, want %v", cred, got, want)
		}
	}
}
