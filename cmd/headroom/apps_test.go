package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestAppsCLIUnknownApp: scaling an app that does not exist says so, in
// the words of the master's 404 (which its own tests pin), and ls shows
// why an app waits.
func TestAppsCLIUnknownApp(t *testing.T) {
	var calls []string
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		calls = append(calls, r.Method+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		switch r.Method + " " + r.URL.Path {
		case "GET /v2/apps":
			_, _ = io.WriteString(w, `{"apps":[{"id":"web","cpus":0.25,"mem":64,"instances":1,"tasksWaiting":1,"revocable":true,
				"reason":"waiting for revocable capacity: no agent has free revocable capacity (harvest 0)"}]}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"message":"app /nope not found"}`)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	run := func(args ...string) (string, error) {
		cmd := newAppsCommand()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(io.Discard)
		cmd.SetArgs(append([]string{"--master", srv.URL}, args...))
		err := cmd.ExecuteContext(context.Background())
		return out.String(), err
	}
	if _, err := run("scale", "/nope", "2"); err == nil || !strings.HasSuffix(err.Error(), ": app /nope not found") || !strings.Contains(err.Error(), "404") {
		t.Errorf("scale of an unknown app: %v, want the master's 404 \"app /nope not found\"", err)
	}
	out, err := run("ls")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "REASON") || !strings.Contains(out, "waiting for revocable capacity: no agent has free revocable capacity (harvest 0)") {
		t.Errorf("apps ls does not show the reason:\n%s", out)
	}
}

// TestFrameworksLsShowsReason: frameworks ls has the master's reason in
// its REASON column and the offers it holds in OFFERS; --builtin asks for
// the master's own frameworks too, and -o json prints the master's answer
// whole.
func TestFrameworksLsShowsReason(t *testing.T) {
	const external = `{"id":"f1","name":"queue","role":"*","revocable":true,"connected":true,
		"failover_timeout_seconds":60,"active_tasks":2,"unacknowledged_updates":1,"offers_sent":9,"offers_outstanding":3,
		"reason":"declined all offers: filtered on 2 agents until 2030-01-01T00:00:20Z"}`
	const apps = `{"id":"headroom-apps","name":"apps","role":"*","revocable":true,"connected":true,
		"builtin":true,"active_tasks":4,"unacknowledged_updates":0,"offers_sent":0,"offers_outstanding":0}`
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("builtin") == "true" {
			_, _ = io.WriteString(w, "["+apps+","+external+"]")
			return
		}
		_, _ = io.WriteString(w, "["+external+"]")
	}))
	t.Cleanup(srv.Close)
	run := func(args ...string) []string {
		t.Helper()
		cmd := newFrameworksCommand()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(io.Discard)
		cmd.SetArgs(append([]string{"ls", "--master", srv.URL}, args...))
		if err := cmd.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("frameworks ls %v: %v", args, err)
		}
		return strings.Split(strings.TrimSpace(out.String()), "\n")
	}

	lines := run()
	if len(lines) != 2 || !strings.HasSuffix(strings.TrimSpace(lines[0]), "REASON") ||
		!strings.HasSuffix(lines[1], "declined all offers: filtered on 2 agents until 2030-01-01T00:00:20Z") {
		t.Fatalf("frameworks ls:\n%s", strings.Join(lines, "\n"))
	}
	if got := strings.Fields(lines[0]); !slices.Equal(got[:9], []string{"ID", "NAME", "ROLE", "REVOCABLE", "CONNECTED", "TASKS", "UNACKED", "OFFERS", "FAILOVER"}) {
		t.Errorf("frameworks ls header %q, want OFFERS between UNACKED and FAILOVER", lines[0])
	}
	if got := strings.Fields(lines[1]); !slices.Equal(got[:9], []string{"f1", "queue", "*", "true", "yes", "2", "1", "3", "1m0s"}) {
		t.Errorf("frameworks ls row %q, want 3 offers outstanding", lines[1])
	}
	if queries[0] != "" {
		t.Errorf("frameworks ls asked %q, want no query: the external frameworks only", queries[0])
	}

	lines = run("--builtin")
	if queries[1] != "builtin=true" {
		t.Errorf("frameworks ls --builtin asked %q, want builtin=true", queries[1])
	}
	if len(lines) != 3 {
		t.Fatalf("frameworks ls --builtin:\n%s", strings.Join(lines, "\n"))
	}
	if got := strings.Fields(lines[1]); !slices.Equal(got, []string{"headroom-apps", "apps", "*", "true", "yes", "4", "0", "0", "-"}) {
		t.Errorf("frameworks ls --builtin first row %q, want the apps framework with no failover timeout", lines[1])
	}
	if !strings.HasPrefix(lines[2], "f1 ") {
		t.Errorf("frameworks ls --builtin second row %q, want the external framework", lines[2])
	}

	var list []map[string]any
	if err := json.Unmarshal([]byte(strings.Join(run("-o", "json"), "\n")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0]["offers_outstanding"] != 3.0 || list[0]["offers_sent"] != 9.0 {
		t.Errorf("frameworks ls -o json: %v, want the master's fields, offers_outstanding 3 and offers_sent 9 among them", list)
	}
}
