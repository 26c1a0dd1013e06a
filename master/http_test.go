package master

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/headroom-dev/headroom/internal/httpserver"
	"github.com/headroom-dev/headroom/internal/testutil"
	"github.com/headroom-dev/headroom/master/apps"
	"github.com/headroom-dev/headroom/master/store"
)

// testMaster is a Master running in-process with its own HTTP server.
type testMaster struct {
	m       *Master
	st      *store.Store
	srv     *httptest.Server
	url     string
	handler http.Handler
}

// testClient never follows redirects, so a standby's 307 is visible.
var testClient = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// openEmbeddedStore starts an embedded etcd in a temp dir, closed at cleanup.
func openEmbeddedStore(t testing.TB) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// startMaster runs a Master on st behind a loopback httptest server. The
// cleanup (registered after the store's, so it runs first) stops Run, then
// the server.
func startMaster(t testing.TB, st *store.Store, opts ...func(*Config)) *testMaster {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	_ = srv.Listener.Close()
	srv.Listener = ln
	u := "http://" + ln.Addr().String()
	cfg := Config{
		Store:              st,
		AdvertiseURL:       u,
		AllocationInterval: 50 * time.Millisecond,
		HeartbeatInterval:  200 * time.Millisecond,
		AgentTimeout:       2 * time.Second,
		ElectionTTL:        2 * time.Second,
		// Frameworks see heartbeats and re-sent updates within a test's
		// patience.
		FrameworkHeartbeatInterval: 300 * time.Millisecond,
		StatusRetryInterval:        400 * time.Millisecond,
		AgentClient:                &http.Client{Timeout: 5 * time.Second},
		Logger:                     testLogger(t),
	}
	for _, o := range opts {
		o(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		_ = ln.Close()
		t.Fatalf("New: %v", err)
	}
	// The production limits (body size, timeouts) in front, as Serve puts
	// them, so tests see what clients see.
	h := httpserver.Guard(m.Handler(promhttp.HandlerFor(prometheus.NewRegistry(), promhttp.HandlerOpts{})),
		httpserver.Limits{MaxBodyBytes: MaxBodyBytes})
	srv.Config.Handler = h
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("master %s: Run: %v", u, err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("master %s: Run did not return after cancel", u)
		}
		srv.Close()
	})
	return &testMaster{m: m, st: st, srv: srv, url: u, handler: h}
}

// startLeader starts a store and a Master on it and waits until it leads.
func startLeader(t testing.TB) *testMaster {
	t.Helper()
	tm := startMaster(t, openEmbeddedStore(t))
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, tm.m.Leading, "the master never became leader")
	return tm
}

// call makes one request and returns status, headers and body.
func call(t *testing.T, method, url string, body any) (int, http.Header, []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, data
}

// callDirect serves one request through the handler without the network:
// for bodies of megabytes, which a server may stop reading half-way.
func callDirect(h http.Handler, method, path string, body []byte) (int, []byte) {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// getJSON GETs url, wants 200 and decodes the body into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	code, _, body := call(t, http.MethodGet, url, nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, body)
	}
}

// errorBody checks an error answer is JSON with a non-empty message and,
// when path is set, a validation detail naming it.
func checkErrorBody(t *testing.T, body []byte, path string) {
	t.Helper()
	var e struct {
		Message string          `json:"message"`
		Details json.RawMessage `json:"details"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body is not JSON: %v: %q", err, truncate(body))
	}
	if e.Message == "" {
		t.Errorf("error body has no message: %s", truncate(body))
	}
	if path == "" {
		return
	}
	var details []struct {
		Path   string   `json:"path"`
		Errors []string `json:"errors"`
	}
	if err := json.Unmarshal(e.Details, &details); err != nil {
		t.Fatalf("details are not a list of field errors: %v: %s", err, truncate(body))
	}
	for _, d := range details {
		if d.Path == path {
			if len(d.Errors) == 0 {
				t.Errorf("detail %s has no errors: %s", path, truncate(body))
			}
			return
		}
	}
	t.Errorf("no detail names %s: %s", path, truncate(body))
}

func truncate(b []byte) string {
	if len(b) > 500 {
		return string(b[:500]) + "..."
	}
	return string(b)
}

// snapshot is the master's visible state: apps, agents and tasks.
func snapshot(t *testing.T, base string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{"/v2/apps", "/api/v1/agents", "/api/v1/tasks"} {
		code, _, body := call(t, http.MethodGet, base+p, nil)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, code, body)
		}
		b.WriteString(p + " " + string(body) + "\n")
	}
	return b.String()
}

func oneOf(code int, want []int) bool {
	for _, w := range want {
		if code == w {
			return true
		}
	}
	return false
}

// badInput is one malformed or invalid request.
type badInput struct {
	name, method, path string
	body               any // string, []byte or nil
	want               []int
	// field is what the error body must name (for the apps, the
	// validation path of a 422).
	field string
	// direct serves the request without the network (huge bodies).
	direct bool
	// plain: the answer comes from the router, not JSON.
	plain bool
}

// checkBadInputs sends each request: each must get one of its codes, an
// error body that checkBody accepts (unless plain), and leave what
// snapshot shows as it was.
func checkBadInputs(t *testing.T, tm *testMaster, cases []badInput, checkBody func(t *testing.T, body []byte, field string), snapshot func() string) {
	t.Helper()
	before := snapshot()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var (
				code int
				body []byte
			)
			if tc.direct {
				code, body = callDirect(tm.handler, tc.method, tc.path, tc.body.([]byte))
			} else {
				code, _, body = call(t, tc.method, tm.url+tc.path, tc.body)
			}
			if !oneOf(code, tc.want) {
				t.Fatalf("%s %s: got %d, want one of %v: %s", tc.method, tc.path, code, tc.want, truncate(body))
			}
			if !tc.plain {
				checkBody(t, body, tc.field)
			}
			if after := snapshot(); after != before {
				t.Fatalf("state changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// TestBadInputsChangeNothing sends malformed and invalid requests to every
// endpoint: each gets a 4xx with a JSON message, and the apps, agents and
// tasks the master shows are the same afterwards.
func TestBadInputsChangeNothing(t *testing.T) {
	tm := startLeader(t)
	base := tm.url

	// One app exists, for the conflict and update cases.
	code, _, body := call(t, http.MethodPost, base+"/v2/apps", `{"id":"/existing","cmd":"sleep 1000","cpus":0.1,"mem":16,"instances":1}`)
	if code != http.StatusCreated {
		t.Fatalf("creating the app: %d %s", code, body)
	}
	var created struct {
		Version string `json:"version"`
	}
	getApp := func() string {
		var v struct {
			App struct {
				ID        string  `json:"id"`
				Version   string  `json:"version"`
				CPUs      float64 `json:"cpus"`
				Instances int     `json:"instances"`
			} `json:"app"`
		}
		getJSON(t, base+"/v2/apps/existing", &v)
		// Marathon writes ids with their leading slash.
		if v.App.ID != "/existing" || v.App.CPUs != 0.1 || v.App.Instances != 1 {
			t.Errorf("app changed: %+v", v.App)
		}
		return v.App.Version
	}
	created.Version = getApp()
	if created.Version == "" {
		t.Fatal("the app has no version")
	}
	// The app's wait reason is derived by the cycles; once it names the
	// missing agents it holds, and the snapshots compare what requests
	// change.
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, func() bool {
		var v struct {
			App struct {
				Reason string `json:"reason"`
			} `json:"app"`
		}
		getJSON(t, base+"/v2/apps/existing", &v)
		return v.App.Reason == apps.ReasonNoAgents
	}, "the app never said it waits for an agent")

	bigApp := []byte(`{"id":"big","cmd":"` + strings.Repeat("x", 1<<20+10) + `"}`)
	bigAgent := []byte(`{"hostname":"big","url":"http://127.0.0.1:1","version":"` + strings.Repeat("v", 8<<20+10) + `"}`)

	const (
		c400 = http.StatusBadRequest
		c404 = http.StatusNotFound
		c405 = http.StatusMethodNotAllowed
		c409 = http.StatusConflict
		c413 = http.StatusRequestEntityTooLarge
		c422 = http.StatusUnprocessableEntity
	)
	cases := []badInput{
		// POST /v2/apps
		{name: "app/malformed", method: "POST", path: "/v2/apps", body: `{"id":"a",`, want: []int{c400}},
		{name: "app/empty body", method: "POST", path: "/v2/apps", body: ``, want: []int{c400}},
		{name: "app/not an object", method: "POST", path: "/v2/apps", body: `[1,2]`, want: []int{c400}},
		{name: "app/trailing data", method: "POST", path: "/v2/apps", body: `{"id":"a","cmd":"x"} {}`, want: []int{c400}},
		{name: "app/unknown field", method: "POST", path: "/v2/apps", body: `{"id":"a","cmd":"x","bogus":1}`, want: []int{c400}},
		{name: "app/unknown health check field", method: "POST", path: "/v2/apps", body: `{"id":"a","cmd":"x","healthChecks":[{"protocol":"TCP","port":80,"bogus":1}]}`, want: []int{c400}},
		{name: "app/cpus string", method: "POST", path: "/v2/apps", body: `{"id":"a","cmd":"x","cpus":"two"}`, want: []int{c400}},
		{name: "app/instances string", method: "POST", path: "/v2/apps", body: `{"id":"a","cmd":"x","instances":"3"}`, want: []int{c400}},
		{name: "app/instances fraction", method: "POST", path: "/v2/apps", body: `{"id":"a","cmd":"x","instances":1.5}`, want: []int{c400}},
		{name: "app/negative cpus", method: "POST", path: "/v2/apps", body: `{"id":"a","cmd":"x","cpus":-1}`, want: []int{c422}, field: "/cpus"},
		{name: "app/zero cpus", method: "POST", path: "/v2/apps", body: `{"id":"a","cmd":"x","cpus":0}`, want: []int{c422}, field: "/cpus"},
		{name: "app/negative mem", method: "POST", path: "/v2/apps", body: `{"id":"a","cmd":"x","mem":-64}`, want: []int{c422}, field: "/mem"},
		{name: "app/negative instances", method: "POST", path: "/v2/apps", body: `{"id":"a","cmd":"x","instances":-1}`, want: []int{c422}, field: "/instances"},
		{name: "app/too many instances", method: "POST", path: "/v2/apps", body: `{"id":"a","cmd":"x","instances":1000000}`, want: []int{c422}, field: "/instances"},
		{name: "app/body over the cap", method: "POST", path: "/v2/apps", body: bigApp, want: []int{c413}, direct: true},
		{name: "app/bad constraint operator", method: "POST", path: "/v2/apps", body: `{"id":"a","cmd":"x","constraints":[["hostname","SOMETIMES"]]}`, want: []int{c422}, field: "/constraints/0"},
		{name: "app/constraint arity 1", method: "POST", path: "/v2/apps", body: `{"id":"a","cmd":"x","constraints":[["hostname"]]}`, want: []int{c422}, field: "/constraints/0"},
		{name: "app/constraint arity 4", method: "POST", path: "/v2/apps", body: `{"id":"a","cmd":"x","constraints":[["hostname","CLUSTER","a","b"]]}`, want: []int{c422}, field: "/constraints/0"},
		{name: "app/second constraint bad", method: "POST", path: "/v2/apps", body: `{"id":"a","cmd":"x","constraints":[["hostname","UNIQUE"],["rack","MAX_PER"]]}`, want: []int{c422}, field: "/constraints/1"},
		{name: "app/id traversal", method: "POST", path: "/v2/apps", body: `{"id":"../x","cmd":"x"}`, want: []int{c422}, field: "/id"},
		{name: "app/id upper case", method: "POST", path: "/v2/apps", body: `{"id":"UPPER","cmd":"x"}`, want: []int{c422}, field: "/id"},
		{name: "app/id empty", method: "POST", path: "/v2/apps", body: `{"id":"","cmd":"x"}`, want: []int{c422}, field: "/id"},
		{name: "app/id missing", method: "POST", path: "/v2/apps", body: `{"cmd":"x"}`, want: []int{c422}, field: "/id"},
		{name: "app/id only slashes", method: "POST", path: "/v2/apps", body: `{"id":"///","cmd":"x"}`, want: []int{c422}, field: "/id"},
		{name: "app/cmd and args", method: "POST", path: "/v2/apps", body: `{"id":"a","cmd":"x","args":["y"]}`, want: []int{c422}, field: "/cmd"},
		{name: "app/neither cmd nor args", method: "POST", path: "/v2/apps", body: `{"id":"a"}`, want: []int{c422}, field: "/cmd"},
		{name: "app/bad env key", method: "POST", path: "/v2/apps", body: `{"id":"a","cmd":"x","env":{"A B":"1"}}`, want: []int{c422}, field: "/env/A B"},
		{name: "app/bad health check port", method: "POST", path: "/v2/apps", body: `{"id":"a","cmd":"x","healthChecks":[{"protocol":"TCP","port":0}]}`, want: []int{c422}, field: "/healthChecks/0/port"},
		{name: "app/duplicate id", method: "POST", path: "/v2/apps", body: `{"id":"existing","cmd":"sleep 1"}`, want: []int{c409}},
		{name: "app/duplicate id with slash", method: "POST", path: "/v2/apps", body: `{"id":"/existing/","cmd":"sleep 1"}`, want: []int{c409}},

		// PUT /v2/apps/{id}
		{name: "put/malformed", method: "PUT", path: "/v2/apps/existing", body: `{"instances":`, want: []int{c400, c422}},
		{name: "put/not an object", method: "PUT", path: "/v2/apps/existing", body: `"x"`, want: []int{c400, c422}},
		{name: "put/unknown field", method: "PUT", path: "/v2/apps/existing", body: `{"bogus":true}`, want: []int{c400, c422}},
		{name: "put/wrong type", method: "PUT", path: "/v2/apps/existing", body: `{"instances":"3"}`, want: []int{c400, c422}},
		{name: "put/negative cpus", method: "PUT", path: "/v2/apps/existing", body: `{"cpus":-2}`, want: []int{c422}, field: "/cpus"},
		{name: "put/negative instances", method: "PUT", path: "/v2/apps/existing", body: `{"instances":-2}`, want: []int{c422}, field: "/instances"},
		{name: "put/other id", method: "PUT", path: "/v2/apps/existing", body: `{"id":"other"}`, want: []int{c400, c422}},
		{name: "put/cmd and args", method: "PUT", path: "/v2/apps/existing", body: `{"args":["x"]}`, want: []int{c422}, field: "/cmd"},
		{name: "patch/bad constraint", method: "PATCH", path: "/v2/apps/existing", body: `{"constraints":[["hostname","SOMETIMES"]]}`, want: []int{c422}, field: "/constraints/0"},
		{name: "put/unknown app invalid", method: "PUT", path: "/v2/apps/newapp", body: `{"cmd":"x","cpus":-1}`, want: []int{c422}, field: "/cpus"},
		{name: "put/unknown app malformed", method: "PUT", path: "/v2/apps/newapp", body: `{`, want: []int{c400, c422}},
		{name: "put/bad id in path", method: "PUT", path: "/v2/apps/UPPER", body: `{"cmd":"x"}`, want: []int{c422}, field: "/id"},
		{name: "put/body over the cap", method: "PUT", path: "/v2/apps/existing", body: bigApp, want: []int{c413}, direct: true},

		// Unknown apps, methods.
		{name: "get unknown app", method: "GET", path: "/v2/apps/nope", want: []int{c404}},
		{name: "get unknown nested app", method: "GET", path: "/v2/apps/a/b/c", want: []int{c404}},
		{name: "get unknown app tasks", method: "GET", path: "/v2/apps/nope/tasks", want: []int{c404}},
		{name: "delete unknown app", method: "DELETE", path: "/v2/apps/nope", want: []int{c404}},
		{name: "restart unknown app", method: "POST", path: "/v2/apps/x/restart", want: []int{c404}},
		{name: "no app id", method: "GET", path: "/v2/apps/", want: []int{c404}},
		{name: "post to an app", method: "POST", path: "/v2/apps/existing", body: `{}`, want: []int{c405}},
		{name: "post tasks", method: "POST", path: "/v2/apps/existing/tasks", want: []int{c405}},
		{name: "get restart", method: "GET", path: "/v2/apps/existing/restart", want: []int{c405}},
		{name: "get register", method: "GET", path: "/api/v1/agents/register", want: []int{c405}, plain: true},

		// POST /api/v1/agents/register
		{name: "register/malformed", method: "POST", path: "/api/v1/agents/register", body: `{"hostname":`, want: []int{c400}},
		{name: "register/empty", method: "POST", path: "/api/v1/agents/register", body: ``, want: []int{c400}},
		{name: "register/unknown field", method: "POST", path: "/api/v1/agents/register", body: `{"hostname":"h1","url":"http://127.0.0.1:1","bogus":1}`, want: []int{c400}},
		{name: "register/wrong type", method: "POST", path: "/api/v1/agents/register", body: `{"hostname":"h1","url":"http://127.0.0.1:1","revocable":{"cpus":"4"}}`, want: []int{c400}},
		{name: "register/missing hostname", method: "POST", path: "/api/v1/agents/register", body: `{"url":"http://127.0.0.1:1"}`, want: []int{c400, c422}},
		{name: "register/hostname with space", method: "POST", path: "/api/v1/agents/register", body: `{"hostname":"a b","url":"http://127.0.0.1:1"}`, want: []int{c400, c422}},
		{name: "register/hostname traversal", method: "POST", path: "/api/v1/agents/register", body: `{"hostname":"../x","url":"http://127.0.0.1:1"}`, want: []int{c400, c422}},
		{name: "register/missing url", method: "POST", path: "/api/v1/agents/register", body: `{"hostname":"h1"}`, want: []int{c400, c422}},
		{name: "register/bad agent id", method: "POST", path: "/api/v1/agents/register", body: `{"agent_id":"../x","hostname":"h1","url":"http://127.0.0.1:1"}`, want: []int{c400, c422}},
		{name: "register/negative revocable cpus", method: "POST", path: "/api/v1/agents/register", body: `{"hostname":"h1","url":"http://127.0.0.1:1","revocable":{"cpus":-1,"mem_bytes":1024}}`, want: []int{c400, c422}},
		{name: "register/negative dedicated mem", method: "POST", path: "/api/v1/agents/register", body: `{"hostname":"h1","url":"http://127.0.0.1:1","dedicated":{"cpus":1,"mem_bytes":-1}}`, want: []int{c400, c422}},
		{name: "register/bad attribute key", method: "POST", path: "/api/v1/agents/register", body: `{"hostname":"h1","url":"http://127.0.0.1:1","attributes":{"bad key":"x"}}`, want: []int{c400, c422}},
		{name: "register/bad task id", method: "POST", path: "/api/v1/agents/register", body: `{"hostname":"h1","url":"http://127.0.0.1:1","tasks":[{"info":{"id":"../t","cmd":"x"},"status":{"task_id":"../t","state":"TASK_RUNNING"}}]}`, want: []int{c400, c422}},
		{name: "register/negative task resources", method: "POST", path: "/api/v1/agents/register", body: `{"hostname":"h1","url":"http://127.0.0.1:1","tasks":[{"info":{"id":"t1","cmd":"x","resources":{"cpus":-1,"mem_bytes":1}},"status":{"task_id":"t1","state":"TASK_RUNNING"}}]}`, want: []int{c400, c422}},
		{name: "register/huge body", method: "POST", path: "/api/v1/agents/register", body: bigAgent, want: []int{c413}, direct: true},

		// POST /api/v1/agents/{id}/heartbeat
		{name: "heartbeat/unknown agent", method: "POST", path: "/api/v1/agents/ghost-1/heartbeat", body: `{"agent_id":"ghost-1"}`, want: []int{c404}},
		{name: "heartbeat/mismatched id", method: "POST", path: "/api/v1/agents/ghost-1/heartbeat", body: `{"agent_id":"ghost-2"}`, want: []int{c400}},
		{name: "heartbeat/missing id", method: "POST", path: "/api/v1/agents/ghost-1/heartbeat", body: `{}`, want: []int{c400}},
		{name: "heartbeat/malformed", method: "POST", path: "/api/v1/agents/ghost-1/heartbeat", body: `{"agent_id":`, want: []int{c400}},
		{name: "heartbeat/unknown field", method: "POST", path: "/api/v1/agents/ghost-1/heartbeat", body: `{"agent_id":"ghost-1","bogus":1}`, want: []int{c400}},
		{name: "heartbeat/negative used", method: "POST", path: "/api/v1/agents/ghost-1/heartbeat", body: `{"agent_id":"ghost-1","used":{"cpus":-1,"mem_bytes":0}}`, want: []int{c400, c422}},
		{name: "heartbeat/negative revocable", method: "POST", path: "/api/v1/agents/ghost-1/heartbeat", body: `{"agent_id":"ghost-1","revocable":{"cpus":1,"mem_bytes":-5}}`, want: []int{c400, c422}},
		{name: "heartbeat/bad id in path", method: "POST", path: "/api/v1/agents/..x/heartbeat", body: `{"agent_id":"..x"}`, want: []int{c400, c404, c422}},

		// Tasks.
		{name: "kill unknown task", method: "POST", path: "/api/v1/tasks/unknown/kill", want: []int{c404}},
		{name: "get kill", method: "GET", path: "/api/v1/tasks/unknown/kill", want: []int{c405}, plain: true},
	}
	checkBadInputs(t, tm, cases, checkErrorBody, func() string { return snapshot(t, base) })
	if v := getApp(); v != created.Version {
		t.Errorf("app version changed from %s to %s", created.Version, v)
	}
}

// TestStandbyRedirects runs a second master on the same etcd: it does not
// lead, redirects API calls to the leader and answers /healthz and
// /api/v1/leader itself.
// startStandby starts a second master on the leader's etcd and waits
// until it knows who leads.
func startStandby(t *testing.T, leader *testMaster) *testMaster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st2, err := store.Open(ctx, store.Config{Endpoints: leader.st.Endpoints(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("second store: %v", err)
	}
	t.Cleanup(func() { _ = st2.Close() })
	standby := startMaster(t, st2)
	// The standby knows who leads once it reads the election.
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool {
		l, err := standby.m.knownLeader()
		return err == nil && l == leader.url
	}, "the standby never saw the leader")
	return standby
}

func TestStandbyRedirects(t *testing.T) {
	leader := startLeader(t)
	standby := startStandby(t, leader)
	if standby.m.Leading() {
		t.Fatal("the standby leads too")
	}
	if !leader.m.Leading() {
		t.Fatal("the leader lost the lead")
	}

	for _, p := range []struct{ method, path string }{
		{"GET", "/v2/apps"},
		{"GET", "/v2/apps/web/tasks?x=1"},
		{"POST", "/v2/apps"},
		{"GET", "/api/v1/agents"},
		{"GET", "/api/v1/tasks"},
		{"GET", "/api/v1/state"},
		{"POST", "/api/v1/agents/register"},
	} {
		var body any
		if p.method == "POST" {
			body = `{}`
		}
		code, hdr, data := call(t, p.method, standby.url+p.path, body)
		if code != http.StatusTemporaryRedirect {
			t.Errorf("%s %s on the standby: %d, want 307: %s", p.method, p.path, code, data)
			continue
		}
		if loc := hdr.Get("Location"); loc != leader.url+p.path {
			t.Errorf("%s %s on the standby: Location %q, want %q", p.method, p.path, loc, leader.url+p.path)
		}
	}

	code, _, data := call(t, "GET", standby.url+"/healthz", nil)
	if code != http.StatusOK || strings.TrimSpace(string(data)) != "ok" {
		t.Errorf("/healthz on the standby: %d %q", code, data)
	}
	var info struct {
		Leader  string `json:"leader"`
		Self    string `json:"self"`
		Leading bool   `json:"leading"`
		Error   string `json:"error"`
	}
	getJSON(t, standby.url+"/api/v1/leader", &info)
	if info.Leader != leader.url || info.Self != standby.url || info.Leading || info.Error != "" {
		t.Errorf("/api/v1/leader on the standby: %+v, want leader %s, self %s, not leading", info, leader.url, standby.url)
	}
	getJSON(t, leader.url+"/api/v1/leader", &info)
	if info.Leader != leader.url || info.Self != leader.url || !info.Leading {
		t.Errorf("/api/v1/leader on the leader: %+v", info)
	}
	// The leader serves the API itself.
	code, _, data = call(t, "GET", leader.url+"/v2/apps", nil)
	if code != http.StatusOK {
		t.Errorf("GET /v2/apps on the leader: %d %s", code, data)
	}
}
