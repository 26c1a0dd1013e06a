package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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
// its REASON column.
func TestFrameworksLsShowsReason(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `[{"id":"f1","name":"queue","role":"*","revocable":true,"connected":true,
			"reason":"declined all offers: filtered on 2 agents until 2030-01-01T00:00:20Z"}]`)
	}))
	t.Cleanup(srv.Close)
	cmd := newFrameworksCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"ls", "--master", srv.URL})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasSuffix(strings.TrimSpace(lines[0]), "REASON") ||
		!strings.HasSuffix(lines[1], "declined all offers: filtered on 2 agents until 2030-01-01T00:00:20Z") {
		t.Fatalf("frameworks ls:\n%s", out.String())
	}
}
