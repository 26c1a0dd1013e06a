package agentproto

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/resources"
)

func TestNewClient(t *testing.T) {
	c, err := NewClient(" http://a:1/, https://b:2 ", "")
	if err != nil || len(c.URLs) != 2 || c.URLs[0] != "http://a:1" {
		t.Fatalf("%+v, %v", c, err)
	}
	for _, bad := range []string{"", "ftp://a", "a:1", ","} {
		if _, err := NewClient(bad, ""); err == nil {
			t.Errorf("NewClient(%q) accepted", bad)
		}
	}
}

// request is what a test server saw of one call.
type request struct {
	method, path, auth, contentType string
	body                            []byte
}

// recorder is a test server that records every request and answers with
// code and body.
func recorder(t *testing.T, code int, body string) (*httptest.Server, func() []request) {
	t.Helper()
	var mu sync.Mutex
	var seen []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, request{r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), b})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []request {
		mu.Lock()
		defer mu.Unlock()
		return append([]request(nil), seen...)
	}
}

func newTestClient(t *testing.T, token string, urls ...string) *Client {
	t.Helper()
	c, err := New(urls, token, &http.Client{Timeout: 10 * time.Second, CheckRedirect: KeepAuthOnRedirect})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Every call of the protocol, in both directions, is built the same way:
// the route, POST, a JSON body and the bearer token.
func TestClientBuildsEveryCall(t *testing.T) {
	task := api.TaskInfo{ID: "web.1", Cmd: "sleep 1", Resources: resources.Resources{CPUs: 0.5, MemBytes: 1 << 20}}
	for _, tc := range []struct {
		name     string
		answer   string
		call     func(context.Context, *Client) error
		wantPath string
		wantBody any
		check    func(t *testing.T, body []byte)
	}{
		{"register", `{"agent_id":"a1","heartbeat_interval_seconds":5}`, func(ctx context.Context, c *Client) error {
			var resp RegisterResponse
			if err := c.Do(ctx, http.MethodPost, RegisterPath, RegisterRequest{Hostname: "h", URL: "http://h:1"}, &resp); err != nil {
				return err
			}
			if resp.AgentID != "a1" || resp.HeartbeatInterval() != 5*time.Second {
				t.Errorf("register answer decoded as %+v", resp)
			}
			return nil
		}, "/api/v1/agents/register", &RegisterRequest{}, nil},
		{"heartbeat", `{"acks":["u1"],"kill":["t9"]}`, func(ctx context.Context, c *Client) error {
			var resp HeartbeatResponse
			if err := c.Do(ctx, http.MethodPost, HeartbeatPath("a 1"), Heartbeat{AgentID: "a 1"}, &resp); err != nil {
				return err
			}
			if len(resp.Acks) != 1 || resp.Kill[0] != "t9" {
				t.Errorf("heartbeat answer decoded as %+v", resp)
			}
			return nil
		}, "/api/v1/agents/a%201/heartbeat", &Heartbeat{}, nil},
		{"launch", `{}`, func(ctx context.Context, c *Client) error { return c.Launch(ctx, task) },
			"/api/v1/tasks", &api.TaskInfo{}, func(t *testing.T, b []byte) {
				var got api.TaskInfo
				_ = json.Unmarshal(b, &got)
				if got.ID != task.ID || got.Cmd != task.Cmd {
					t.Errorf("launched %+v", got)
				}
			}},
		{"kill", `{}`, func(ctx context.Context, c *Client) error {
			return c.Kill(ctx, "web/1", KillRequest{Reason: api.ReasonOrphan})
		}, "/api/v1/tasks/web%2F1/kill", &KillRequest{}, func(t *testing.T, b []byte) {
			if !strings.Contains(string(b), api.ReasonOrphan) {
				t.Errorf("kill body %s lacks the reason", b)
			}
		}},
		{"check", `{"healthy":true,"exit_code":0,"output":"ok"}`, func(ctx context.Context, c *Client) error {
			r, err := c.Check(ctx, "web.1", CheckRequest{Command: "true", TimeoutSeconds: 1})
			if err == nil && (!r.Healthy || r.Output != "ok") {
				t.Errorf("check answer decoded as %+v", r)
			}
			return err
		}, "/api/v1/tasks/web.1/check", &CheckRequest{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, seen := recorder(t, http.StatusOK, tc.answer)
			if err := tc.call(context.Background(), newTestClient(t, "t0k", srv.URL)); err != nil {
				t.Fatal(err)
			}
			got := seen()
			if len(got) != 1 {
				t.Fatalf("%d requests, want 1", len(got))
			}
			r := got[0]
			if r.method != http.MethodPost || r.path != tc.wantPath || r.auth != "Bearer t0k" || r.contentType != "application/json" {
				t.Errorf("sent %s %s, Authorization %q, Content-Type %q; want POST %s with the token as JSON",
					r.method, r.path, r.auth, r.contentType, tc.wantPath)
			}
			// The body is what the receiving side decodes: strictly.
			if err := api.DecodeStrict(strings.NewReader(string(r.body)), tc.wantBody, 1<<20); err != nil {
				t.Errorf("body %s: %v", r.body, err)
			}
			if tc.check != nil {
				tc.check(t, r.body)
			}
		})
	}
}

// A refusal is decoded into a *StatusError with its code, and its message
// keeps the field the peer named.
func TestClientDecodesErrors(t *testing.T) {
	for _, tc := range []struct {
		code int
		body string
		want []string
	}{
		{http.StatusBadRequest, `{"message":"invalid request body","details":"field \"hostname\": 1 is not a valid string"}`,
			[]string{"400 Bad Request", "invalid request body", "hostname"}},
		{http.StatusUnprocessableEntity, `{"message":"invalid task","details":"user: \"bin\" is not a user this agent runs tasks as"}`,
			[]string{"422 Unprocessable Entity", "invalid task", `user: "bin" is not a user`}},
		{http.StatusUnauthorized, `{"message":"missing bearer token"}`, []string{"401", "missing bearer token"}},
		{http.StatusForbidden, `{"message":"registration refused","details":"agent \"a\" is bound to the credential that first registered it"}`,
			[]string{"403 Forbidden", "registration refused", "bound to the credential"}},
		{http.StatusNotFound, `{"message":"heartbeat refused","details":"agent \"a\": unknown agent: register again"}`,
			[]string{"404 Not Found", "unknown agent"}},
		{http.StatusInternalServerError, "boom: not JSON\n", []string{"500 Internal Server Error", "boom: not JSON"}},
	} {
		srv, _ := recorder(t, tc.code, tc.body)
		err := newTestClient(t, "", srv.URL).Do(context.Background(), http.MethodPost, RegisterPath, RegisterRequest{}, nil)
		var se *StatusError
		if !errors.As(err, &se) || se.Code != tc.code || !IsStatus(err, tc.code) {
			t.Errorf("%d: error %v, want a *StatusError with the code", tc.code, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%d: %q lacks %q", tc.code, err, w)
			}
		}
		// The agent-side calls name the task and the agent as well.
		err = newTestClient(t, "", srv.URL).Launch(context.Background(), api.TaskInfo{ID: "web.1"})
		if !IsStatus(err, tc.code) || !strings.Contains(err.Error(), `"web.1"`) || !strings.Contains(err.Error(), srv.URL) {
			t.Errorf("%d: launch error %v, want the code, the task and the agent", tc.code, err)
		}
	}
}

// A 4xx or 5xx answer is final (another master would say the same), a
// 503 or a peer that does not answer moves on to the next one, and the
// client starts at the last peer that answered.
func TestClientMovesAlongOnlyWhenNoAnswer(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close() // a refused connection
	for _, tc := range []struct {
		name       string
		firstCode  int
		firstDown  bool
		wantErr    bool
		wantSecond int // requests the second master got
	}{
		{"bad request", http.StatusBadRequest, false, true, 0},
		{"forbidden", http.StatusForbidden, false, true, 0},
		{"not found", http.StatusNotFound, false, true, 0},
		{"server error", http.StatusInternalServerError, false, true, 0},
		{"no leader", http.StatusServiceUnavailable, false, false, 1},
		{"down", 0, true, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, _ := recorder(t, tc.firstCode, `{"message":"first"}`)
			firstURL := first.URL
			if tc.firstDown {
				firstURL = downURL
			}
			second, seen := recorder(t, http.StatusOK, `{"agent_id":"a1"}`)
			c := newTestClient(t, "", firstURL, second.URL)
			var resp RegisterResponse
			err := c.Do(context.Background(), http.MethodPost, RegisterPath, RegisterRequest{}, &resp)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if n := len(seen()); n != tc.wantSecond {
				t.Fatalf("second master got %d requests, want %d", n, tc.wantSecond)
			}
			if tc.wantErr {
				return
			}
			if c.Current() != second.URL || resp.AgentID != "a1" {
				t.Fatalf("current %s, answer %+v: want the second master's", c.Current(), resp)
			}
			// Sticky: the next call goes to the second master first.
			_ = c.Do(context.Background(), http.MethodPost, RegisterPath, RegisterRequest{}, nil)
			if n := len(seen()); n != 2 {
				t.Errorf("second master got %d requests, want 2", n)
			}
		})
	}
}

// A standby's 307 leads to the leader with the bearer token kept.
func TestClientFollowsRedirectWithToken(t *testing.T) {
	leader, seen := recorder(t, http.StatusOK, `{}`)
	standby := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, leader.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(standby.Close)
	var out HeartbeatResponse
	if err := newTestClient(t, "t0k", standby.URL).Do(context.Background(), http.MethodPost, HeartbeatPath("a1"), Heartbeat{AgentID: "a1"}, &out); err != nil {
		t.Fatal(err)
	}
	got := seen()
	if len(got) != 1 || got[0].auth != "Bearer t0k" || !strings.Contains(string(got[0].body), `"a1"`) {
		t.Fatalf("leader saw %+v, want the heartbeat with the token", got)
	}
}

// A 200 that is not the expected JSON is an answer (ErrUndecodable), not
// a peer that is down: the client does not move on.
func TestClientUndecodableAnswer(t *testing.T) {
	bad, _ := recorder(t, http.StatusOK, `not json`)
	other, seen := recorder(t, http.StatusOK, `{}`)
	_, err := newTestClient(t, "", bad.URL, other.URL).Check(context.Background(), "t", CheckRequest{Command: "true", TimeoutSeconds: 1})
	if !errors.Is(err, ErrUndecodable) || len(seen()) != 0 {
		t.Fatalf("error %v, %d calls to the other agent; want ErrUndecodable and none", err, len(seen()))
	}
}

// Timeouts: the HTTP client's bounds a call, the caller's context too;
// neither is a *StatusError. A check is bounded by its own timeout, not
// by the HTTP client's.
func TestClientTimeouts(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); hang.Close() })
	answers, _ := recorder(t, http.StatusOK, `{"healthy":false,"exit_code":1,"output":"no"}`)

	short := func(url string) *Client {
		c, err := New([]string{url}, "", &http.Client{Timeout: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		call func() error
		want error
	}{
		{"http client timeout", func() error {
			return short(hang.URL).Do(context.Background(), http.MethodPost, RegisterPath, RegisterRequest{}, nil)
		}, nil},
		{"context done", func() error { return newTestClient(t, "", hang.URL).Launch(ctx, api.TaskInfo{ID: "t"}) }, context.Canceled},
		{"check context done", func() error {
			_, err := newTestClient(t, "", hang.URL).Check(ctx, "t", CheckRequest{Command: "true", TimeoutSeconds: 1})
			return err
		}, context.Canceled},
	} {
		err := tc.call()
		var se *StatusError
		if err == nil || errors.As(err, &se) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: error %v, want a transport error (%v)", tc.name, err, tc.want)
		}
	}
	// The HTTP client's 1 ms would cut any call short; a check ignores it.
	r, err := short(answers.URL).Check(context.Background(), "t", CheckRequest{Command: "false", TimeoutSeconds: 1})
	if err != nil || r.Healthy || r.ExitCode != 1 {
		t.Fatalf("check through a 1 ms client: %+v, %v; want the agent's result", r, err)
	}
}
