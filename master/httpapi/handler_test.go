package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/internal/auth"
	"github.com/headroom-dev/headroom/master/apps"
	"github.com/headroom-dev/headroom/master/jobs"
)

const testSelf = "http://127.0.0.1:1"

// newTestHandler serves f without credentials; leader is what the
// leader lookup answers.
func newTestHandler(f *fakeBackend, leader func() (string, error)) http.Handler {
	if leader == nil {
		leader = func() (string, error) { return testSelf, nil }
	}
	h, _ := New(Config{Backend: f, Self: testSelf, Leader: leader, Clock: clockwork.NewFakeClock()})
	return h
}

// serve makes one request; headers are name, value pairs.
func serve(t *testing.T, h http.Handler, ctx context.Context, method, path, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if ctx != nil {
		req = req.WithContext(ctx)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// A body or path parameter that does not decode is a 4xx naming what is
// wrong, and the backend is never called with it.
func TestBadInputNeverReachesTheBackend(t *testing.T) {
	stream := []string{scheduler.StreamIDHeader, "s1"}
	for _, tc := range []struct {
		name, method, path, body string
		headers                  []string
		code                     int
		// mention must appear in the answer: the field or the fault.
		mention string
	}{
		{"register unknown field", "POST", "/api/v1/agents/register", `{"hostname":"h","nope":1}`, nil, 400, `"nope"`},
		{"register wrong type", "POST", "/api/v1/agents/register", `{"hostname":7}`, nil, 400, `hostname`},
		{"register malformed", "POST", "/api/v1/agents/register", `{"hostname":`, nil, 400, "malformed JSON"},
		{"register empty", "POST", "/api/v1/agents/register", ``, nil, 400, "empty body"},
		{"heartbeat unknown field", "POST", "/api/v1/agents/a1/heartbeat", `{"agent_id":"a1","cpu":1}`, nil, 400, `"cpu"`},
		{"heartbeat of another agent", "POST", "/api/v1/agents/a1/heartbeat", `{"agent_id":"a2"}`, nil, 400, `agent_id "a2"`},
		{"attributes not strings", "PUT", "/api/v1/agents/a1/attributes", `{"rack":1}`, nil, 400, "want a string"},
		{"attributes null", "PUT", "/api/v1/agents/a1/attributes", `null`, nil, 400, "got null"},
		// Unknown fields are left out and logged, as Mesos reads calls;
		// a value of the wrong type is still refused.
		{"scheduler wrong type", "POST", "/api/v1/scheduler", `{"type":"REVIVE","framework_id":{"value":7},"x":1}`, stream, 400, `framework_id.value`},
		{"scheduler unknown call", "POST", "/api/v1/scheduler", `{"type":"JUMP"}`, stream, 400, "type: unknown call"},
		{"scheduler without framework", "POST", "/api/v1/scheduler", `{"type":"REVIVE"}`, stream, 400, "framework_id"},
		{"scheduler without stream", "POST", "/api/v1/scheduler", `{"type":"REVIVE","framework_id":{"value":"f1"}}`, nil, 400, scheduler.StreamIDHeader},
		{"subscribe with two ids", "POST", "/api/v1/scheduler",
			`{"type":"SUBSCRIBE","framework_id":{"value":"f1"},"subscribe":{"framework_info":{"name":"q","id":{"value":"f2"}}}}`, nil, 400, "differs"},
		{"app unknown field", "POST", "/v2/apps", `{"id":"web","cmd":"true","nope":1}`, nil, 400, "nope"},
		{"app malformed", "POST", "/v2/apps", `{"id":`, nil, 400, "invalid app definition"},
		{"job unknown field", "POST", "/v1/jobs", `{"id":"etl","run":{"cmd":"true"},"nope":1}`, nil, 400, "nope"},
		{"job malformed", "POST", "/v1/jobs", `[`, nil, 400, "invalid job definition"},
		{"job id in path", "GET", "/v1/jobs/ETL", ``, nil, 400, `"path":"id"`},
		{"job id differs", "PUT", "/v1/jobs/etl", `{"id":"other","run":{"cmd":"true"}}`, nil, 400, "differs"},
		{"schedule id in path", "GET", "/v1/jobs/etl/schedules/NO!", ``, nil, 400, `"path":"scheduleId"`},
		{"schedule id differs", "PUT", "/v1/jobs/etl/schedules/s1", `{"id":"s2","cron":"* * * * *"}`, nil, 400, "differs"},
		{"schedule unknown field", "POST", "/v1/jobs/etl/schedules", `{"cron":"* * * * *","when":1}`, nil, 400, "when"},
		{"run id in path", "GET", "/v1/jobs/etl/runs/no_way", ``, nil, 400, `"path":"runId"`},
		{"frameworks builtin not a bool", "GET", "/api/v1/frameworks?builtin=maybe", ``, nil, 400, `builtin: want true or false, got "maybe"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			rec := serve(t, newTestHandler(f, nil), nil, tc.method, tc.path, tc.body, tc.headers...)
			if rec.Code != tc.code {
				t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.path, rec.Code, tc.code, rec.Body)
			}
			if !strings.Contains(answerText(t, rec), tc.mention) {
				t.Errorf("%s %s: the answer does not mention %q: %s", tc.method, tc.path, tc.mention, rec.Body)
			}
			if calls := f.made(); len(calls) > 0 {
				t.Errorf("%s %s: the backend was called: %v", tc.method, tc.path, calls)
			}
		})
	}
}

// answerText is the message and details of an error answer, or its body
// when it has no such shape.
func answerText(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var e struct {
		Message string `json:"message"`
		Details any    `json:"details"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		return rec.Body.String()
	}
	if d, ok := e.Details.(string); ok {
		return e.Message + ": " + d
	}
	// Field errors: [{"path":"id","errors":[...]}].
	d, _ := json.Marshal(e.Details)
	return e.Message + ": " + string(d)
}

// Each kind of backend error has its status; the apps and jobs
// frameworks' own errors are known by the handlers.
func TestErrorStatuses(t *testing.T) {
	stream := []string{scheduler.StreamIDHeader, "s1"}
	revive := `{"type":"REVIVE","framework_id":{"value":"f1"}}`
	for _, tc := range []struct {
		method, path, body string
		headers            []string
		err                error
		code               int
	}{
		{"GET", "/api/v1/agents", "", nil, errRefused, 403},
		{"GET", "/api/v1/agents", "", nil, errNotLeading, 503},
		{"POST", "/api/v1/tasks/t1/kill", "", nil, errNotFound, 404},
		{"GET", "/api/v1/state", "", nil, errUnavailable, 503},
		{"POST", "/api/v1/agents/register", `{"hostname":"h"}`, nil, errInvalid, 422},
		{"GET", "/api/v1/tasks", "", nil, errors.New("boom"), 500},
		{"GET", "/v2/apps/web", "", nil, fmt.Errorf("app /web: %w", apps.ErrNotFound), 404},
		{"POST", "/v2/apps", `{"id":"web","cmd":"true"}`, nil, fmt.Errorf("app /web: %w", apps.ErrExists), 409},
		{"POST", "/v2/apps", `{"id":"web","cmd":"true"}`, nil, &apps.ValidationError{Message: "Object is not valid"}, 422},
		{"GET", "/v1/jobs/etl", "", nil, fmt.Errorf("job etl: %w", jobs.ErrNotFound), 404},
		{"POST", "/v1/jobs", `{"id":"etl","run":{"cmd":"true"}}`, nil, fmt.Errorf("job etl: %w", jobs.ErrExists), 409},
		{"DELETE", "/v1/jobs/etl", "", nil, errNotLeading, 503},
		// The scheduler API answers bad content 400, as Mesos does.
		{"POST", "/api/v1/scheduler", revive, stream, errInvalid, 400},
		{"POST", "/api/v1/scheduler", revive, stream, errRefused, 403},
		{"POST", "/api/v1/scheduler", revive, stream, errNotLeading, 503},
		{"POST", "/api/v1/scheduler", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"q"}}}`, nil, errInvalid, 400},
	} {
		f := newFake()
		f.err = tc.err
		rec := serve(t, newTestHandler(f, nil), nil, tc.method, tc.path, tc.body, tc.headers...)
		if rec.Code != tc.code {
			t.Errorf("%s %s with %v: %d, want %d: %s", tc.method, tc.path, tc.err, rec.Code, tc.code, rec.Body)
		}
		if tc.code == 503 && rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s %s with %v: 503 without Retry-After", tc.method, tc.path, tc.err)
		}
	}
}

// A standby redirects the API to the leader it knows, answers 503 when
// it knows none, and serves its own health and leader routes.
func TestStandby(t *testing.T) {
	f := newFake()
	f.leading = false
	leader := "http://127.0.0.1:2"
	h := newTestHandler(f, func() (string, error) { return leader, nil })
	rec := serve(t, h, nil, "GET", "/v2/apps?x=1", "")
	if rec.Code != http.StatusTemporaryRedirect || rec.Header().Get("Location") != leader+"/v2/apps?x=1" {
		t.Errorf("GET /v2/apps on a standby: %d to %q, want 307 to the leader", rec.Code, rec.Header().Get("Location"))
	}
	if rec := serve(t, h, nil, "GET", "/healthz", ""); rec.Code != http.StatusOK || rec.Body.String() != "ok\n" {
		t.Errorf("/healthz on a standby: %d %q", rec.Code, rec.Body)
	}
	rec = serve(t, h, nil, "GET", "/api/v1/leader", "")
	var info map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &info); err != nil || rec.Code != http.StatusOK ||
		info["leader"] != leader || info["self"] != testSelf || info["leading"] != false {
		t.Errorf("/api/v1/leader on a standby: %d %s", rec.Code, rec.Body)
	}

	unknown := newTestHandler(f, func() (string, error) { return "", errors.New("no leader elected") })
	rec = serve(t, unknown, nil, "POST", "/v2/apps", `{}`)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "no leader elected") {
		t.Errorf("a standby that knows no leader: %d %s", rec.Code, rec.Body)
	}
	if rec := serve(t, unknown, nil, "GET", "/api/v1/leader", ""); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("/api/v1/leader without a known leader: %d, want 503", rec.Code)
	}
	if calls := f.made(); len(calls) > 0 {
		t.Errorf("a standby called its backend: %v", calls)
	}
}

// Env values are an operator's to read; other roles see the names.
func TestEnvRedactedForReaders(t *testing.T) {
	f := newFake()
	f.app = apps.AppStatus{App: apps.App{ID: "/web", Env: map[string]string{"TOKEN": "s3cret"}}}
	f.job = jobs.JobStatus{Job: jobs.Job{ID: "etl", Run: jobs.RunSpec{Env: map[string]string{"TOKEN": "s3cret"}}}}
	h := newTestHandler(f, nil)
	reader := auth.WithIdentity(context.Background(), auth.Identity{Credential: "ui", Role: auth.Reader})
	operator := auth.WithIdentity(context.Background(), auth.Identity{Credential: "ops", Role: auth.Operator})
	for _, path := range []string{"/v2/apps", "/v2/apps/web", "/v1/jobs", "/v1/jobs/etl"} {
		if body := serve(t, h, reader, "GET", path, "").Body.String(); strings.Contains(body, "s3cret") || !strings.Contains(body, "TOKEN") {
			t.Errorf("GET %s as a reader: %s", path, body)
		}
		for _, ctx := range []context.Context{operator, nil} {
			if body := serve(t, h, ctx, "GET", path, "").Body.String(); !strings.Contains(body, "s3cret") {
				t.Errorf("GET %s as an operator: %s", path, body)
			}
		}
	}
	if f.app.App.Env["TOKEN"] != "s3cret" || f.job.Job.Run.Env["TOKEN"] != "s3cret" {
		t.Error("redaction changed the backend's definitions")
	}
}

// A subscription's stream carries its queued events, then the final
// ERROR, and is reported ended.
func TestSubscribeStream(t *testing.T) {
	f := newFake()
	events := make(chan []byte, 2)
	events <- []byte(`{"type":"SUBSCRIBED"}` + "\n")
	events <- []byte(`{"type":"OFFERS"}` + "\n")
	done := make(chan struct{})
	close(done)
	f.stream = Stream{FrameworkID: "f1", ID: "s1", Heartbeat: time.Hour, Events: events, Done: done,
		Err: func() string { return "gone" }, Term: make(chan struct{})}
	rec := serve(t, newTestHandler(f, nil), nil, "POST", "/api/v1/scheduler", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"q"}}}`,
		"Accept", "application/x-ndjson")
	if rec.Code != http.StatusOK || rec.Header().Get(scheduler.StreamIDHeader) != "s1" || rec.Header().Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("SUBSCRIBE: %d %v", rec.Code, rec.Header())
	}
	want := `{"type":"SUBSCRIBED"}` + "\n" + `{"type":"OFFERS"}` + "\n" + `{"type":"ERROR","error":{"message":"gone"}}` + "\n"
	if got := rec.Body.String(); got != want {
		t.Errorf("stream:\n%s\nwant\n%s", got, want)
	}
	if !slices.Equal(f.ended, []string{"f1/s1"}) {
		t.Errorf("streams ended: %v, want f1/s1", f.ended)
	}
}

// Without an explicit application/x-ndjson the stream is Mesos's:
// RecordIO under Content-Type application/json (or application/recordio
// when asked), with the Mesos-Stream-Id header; protobuf is refused.
func TestSubscribeStreamRecordIO(t *testing.T) {
	sub := `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"q","offer_filters":null}}}`
	for _, tc := range []struct{ accept, messageAccept, contentType string }{
		{"application/json", "", "application/json"},
		{"", "", "application/json"},
		{"application/recordio", "application/json", "application/recordio"},
	} {
		f := newFake()
		events := make(chan []byte, 1)
		events <- []byte(`{"type":"SUBSCRIBED"}` + "\n")
		done := make(chan struct{})
		close(done)
		f.stream = Stream{FrameworkID: "f1", ID: "s1", Heartbeat: time.Hour, Events: events, Done: done,
			Err: func() string { return "gone" }, Term: make(chan struct{})}
		rec := serve(t, newTestHandler(f, nil), nil, "POST", "/api/v1/scheduler", sub,
			"Accept", tc.accept, scheduler.MessageAcceptHeader, tc.messageAccept, "Content-Type", "application/json")
		if rec.Code != http.StatusOK || rec.Header().Get(scheduler.MesosStreamIDHeader) != "s1" || rec.Header().Get("Content-Type") != tc.contentType {
			t.Fatalf("Accept %q: %d %v", tc.accept, rec.Code, rec.Header())
		}
		want := "21\n" + `{"type":"SUBSCRIBED"}` + "43\n" + `{"type":"ERROR","error":{"message":"gone"}}`
		if got := rec.Body.String(); got != want {
			t.Errorf("Accept %q: stream %q, want %q", tc.accept, got, want)
		}
	}
	f := newFake()
	if rec := serve(t, newTestHandler(f, nil), nil, "POST", "/api/v1/scheduler", sub, "Content-Type", "application/x-protobuf"); rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("protobuf body: %d", rec.Code)
	}
	if rec := serve(t, newTestHandler(f, nil), nil, "POST", "/api/v1/scheduler", sub, "Accept", "application/x-protobuf"); rec.Code != http.StatusNotAcceptable {
		t.Errorf("protobuf stream: %d", rec.Code)
	}
}

// The master's own frameworks are listed when an operator or reader asks;
// a framework's credential still sees only its own.
func TestFrameworksBuiltin(t *testing.T) {
	reader := auth.WithIdentity(context.Background(), auth.Identity{Credential: "ui", Role: auth.Reader})
	fw := auth.WithIdentity(context.Background(), auth.Identity{Credential: "batch", Role: auth.Framework})
	for _, tc := range []struct {
		name string
		ctx  context.Context
		path string
		want string
	}{
		{"reader, external only", reader, "/api/v1/frameworks", "Frameworks "},
		{"reader, built-in too", reader, "/api/v1/frameworks?builtin=true", "AllFrameworks"},
		{"reader, built-in refused", reader, "/api/v1/frameworks?builtin=0", "Frameworks "},
		{"framework credential", fw, "/api/v1/frameworks?builtin=true", "Frameworks batch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			rec := serve(t, newTestHandler(f, nil), tc.ctx, "GET", tc.path, "")
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: %d %s", tc.path, rec.Code, rec.Body)
			}
			if got := f.made(); !slices.Equal(got, []string{tc.want}) {
				t.Errorf("GET %s called %q, want %q", tc.path, got, tc.want)
			}
		})
	}
}
