package master

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/internal/testutil"
	"github.com/headroom-dev/headroom/master/store"
)

// TestStoreOutageAnswers503: with etcd stopped, every API route of the
// leader and of a standby answers 503 with a reason and Retry-After
// within the store bound (plus slack for a loaded machine), instead of
// waiting on etcd; /healthz and /metrics still answer 200.
func TestStoreOutageAnswers503(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	etcd, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { _ = etcd.Close() })
	external := func() *store.Store {
		st, err := store.Open(ctx, store.Config{Endpoints: etcd.Endpoints(), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("store on %v: %v", etcd.Endpoints(), err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	leader := startMaster(t, external())
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, leader.m.Leading, "the master never became leader")
	standby := startStandby(t, leader)

	// The bound a client may wait: the store's, and slack for a machine
	// shared with other work. A timeout here is a handler waiting on etcd.
	client := &http.Client{
		Timeout:       DefaultStoreTimeout + 8*time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	expect503 := func(t *testing.T, base, method, path, body string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: no answer within %v: %v", method, path, client.Timeout, err)
		}
		data, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(data), "error") && !strings.Contains(string(data), "message") {
			t.Fatalf("%s %s: %s Retry-After %q %s, want 503 with a reason and Retry-After", method, path, resp.Status, resp.Header.Get("Retry-After"), data)
		}
	}

	if err := etcd.Close(); err != nil {
		t.Fatalf("stopping etcd: %v", err)
	}

	// While it still believes it leads, the leader's writes wait on the
	// store at most the bound.
	writes := []struct{ method, path, body string }{
		{"PUT", "/v2/apps/web", `{"cmd":"sleep 1000","cpus":0.1,"mem":16}`},
		{"POST", "/v1/jobs", `{"id":"j1","run":{"cmd":"true","cpus":0.1,"mem":16}}`},
		{"POST", "/api/v1/agents/register", `{"hostname":"h1","url":"http://127.0.0.1:1","resources":{"cpus":1,"mem_bytes":1000000000}}`},
	}
	if leader.m.Leading() {
		for _, w := range writes {
			t.Run("leading "+w.method+" "+w.path, func(t *testing.T) {
				if !leader.m.Leading() {
					t.Skip("the leader stepped down already")
				}
				expect503(t, leader.url, w.method, w.path, w.body)
			})
		}
	}

	testutil.Eventually(t, 30*time.Second, 50*time.Millisecond, func() bool { return !leader.m.Leading() },
		"the leader never noticed etcd was gone")
	for _, m := range []*testMaster{leader, standby} {
		for _, r := range masterRoutes {
			switch r.Path {
			case "/metrics", "/healthz":
				continue
			}
			body := ""
			if r.BodyLimit > 0 {
				body = `{}`
			}
			t.Run(fmt.Sprintf("%s %s %s", m.url, r.Method, r.Path), func(t *testing.T) {
				expect503(t, m.url, r.Method, r.Path, body)
			})
		}
		for _, p := range []string{"/metrics", "/healthz"} {
			code, _, data := call(t, "GET", m.url+p, nil)
			if code != http.StatusOK {
				t.Errorf("GET %s during the outage: %d %s", p, code, data)
			}
		}
	}
}
