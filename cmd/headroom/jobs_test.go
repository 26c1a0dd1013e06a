package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeJobsMaster answers the /v1/jobs calls the CLI makes and records
// them; the job "existing" exists already.
func fakeJobsMaster(t *testing.T) (string, func() []string) {
	t.Helper()
	var (
		mu    sync.Mutex
		calls []string
	)
	reply := func(w http.ResponseWriter, code int, body string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.EscapedPath())
		mu.Unlock()
		switch r.Method + " " + r.URL.Path {
		case "POST /v1/jobs":
			if strings.Contains(string(body), `"existing"`) {
				reply(w, http.StatusConflict, `{"message":"job not created","details":"job \"existing\": job already exists"}`)
				return
			}
			reply(w, http.StatusCreated, string(body))
		case "PUT /v1/jobs/existing":
			reply(w, http.StatusOK, string(body))
		case "GET /v1/jobs":
			reply(w, http.StatusOK, `[{"id":"existing","run":{"cmd":"true","cpus":1,"mem":128},
				"schedules":[{"id":"nightly","cron":"0 3 * * *","timezone":"Europe/Paris","concurrencyPolicy":"FORBID","enabled":true}],
				"activeRuns":1,"summary":{"successCount":4,"failureCount":1},"nextRuns":{"nightly":"2024-05-02T01:00:00Z"}}]`)
		case "GET /v1/jobs/existing":
			reply(w, http.StatusOK, `{"id":"existing","run":{"cmd":"true","cpus":1,"mem":128},
				"schedules":[{"id":"nightly","cron":"0 3 * * *","timezone":"Europe/Paris","concurrencyPolicy":"FORBID","enabled":true}],
				"activeRuns":0,"summary":{"successCount":4,"failureCount":1},"nextRuns":{"nightly":"2024-05-02T01:00:00Z"}}`)
		case "POST /v1/jobs/existing/runs":
			reply(w, http.StatusCreated, `{"id":"20240501100000-abc","jobId":"existing","scheduleId":"manual","status":"ACTIVE",
				"reason":"waiting for the next allocation cycle","reasonSince":"2024-05-01T10:00:00Z"}`)
		case "GET /v1/jobs/existing/runs":
			reply(w, http.StatusOK, `{"active":[{"id":"20240501100000-abc","scheduleId":"manual","status":"ACTIVE","attempts":1,
				"reason":"no offer fits: short of 1.5 CPU (largest free 0.5 on agent a1)"}],
				"history":[{"id":"20240501010000-x","scheduleId":"nightly","status":"FAILED","scheduledAt":"2024-05-01T01:00:00Z",
				"finishedAt":"2024-05-01T01:02:00Z","attempts":3,"message":"task t FAILED: exit 1\nmore"}]}`)
		case "POST /v1/jobs/existing/runs/20240501100000-abc/actions/stop":
			reply(w, http.StatusOK, `{"id":"20240501100000-abc","status":"KILLED"}`)
		case "DELETE /v1/jobs/existing":
			reply(w, http.StatusOK, `{"id":"existing"}`)
		default:
			reply(w, http.StatusNotFound, `{"message":"no such thing"}`)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), calls...)
	}
}

func runJobsCmd(t *testing.T, master string, args ...string) (string, error) {
	t.Helper()
	cmd := newJobsCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs(append([]string{"--master", master}, args...))
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// TestJobsCLI runs every `headroom jobs` subcommand against a fake master.
func TestJobsCLI(t *testing.T) {
	master, calls := fakeJobsMaster(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	newJob := write("new.json", `{"id":"backup.db","run":{"cmd":"backup"},"schedules":[{"cron":"0 3 * * *"}]}`)
	existing := write("existing.json", `{"id":"existing","run":{"cmd":"true"}}`)

	cases := []struct {
		args []string
		want []string // substrings of the output
		call string   // the last request made
	}{
		{args: []string{"add", "-f", newJob}, want: []string{"job backup.db created"}, call: "POST /v1/jobs"},
		{args: []string{"add", "-f", existing}, want: []string{"job existing updated"}, call: "PUT /v1/jobs/existing"},
		{args: []string{"ls"}, want: []string{"existing", "0 3 * * * Europe/Paris", "2024-05-02T01:00:00Z"}, call: "GET /v1/jobs"},
		{args: []string{"show", "existing"}, want: []string{"job existing: true", "succeeded 4, failed 1", "nightly", "FORBID"}, call: "GET /v1/jobs/existing"},
		{args: []string{"run", "existing"}, want: []string{"run 20240501100000-abc of job existing queued: waiting for the next allocation cycle\n"}, call: "POST /v1/jobs/existing/runs"},
		{args: []string{"runs", "existing"}, want: []string{"20240501100000-abc", "ACTIVE", "FAILED", "exit 1 more", "REASON", "no offer fits: short of 1.5 CPU (largest free 0.5 on agent a1)"}, call: "GET /v1/jobs/existing/runs"},
		{args: []string{"stop", "existing", "20240501100000-abc"}, want: []string{"stopped"}, call: "POST /v1/jobs/existing/runs/20240501100000-abc/actions/stop"},
		{args: []string{"rm", "existing"}, want: []string{"job existing deleted"}, call: "DELETE /v1/jobs/existing"},
		{args: []string{"-o", "json", "runs", "existing"}, want: []string{`"history": [`}, call: "GET /v1/jobs/existing/runs"},
	}
	for _, tc := range cases {
		out, err := runJobsCmd(t, master, tc.args...)
		if err != nil {
			t.Errorf("jobs %v: %v", tc.args, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("jobs %v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
		if c := calls(); len(c) == 0 || c[len(c)-1] != tc.call {
			t.Errorf("jobs %v: last call %v, want %s", tc.args, c, tc.call)
		}
	}

	// Errors from the master reach the user; bad local input never
	// reaches the master.
	if _, err := runJobsCmd(t, master, "show", "nope"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("show of an unknown job: %v", err)
	}
	n := len(calls())
	if _, err := runJobsCmd(t, master, "add", "-f", write("bad.json", `{"id":`)); err == nil || !strings.Contains(err.Error(), "malformed JSON") {
		t.Errorf("add of malformed JSON: %v", err)
	}
	if _, err := runJobsCmd(t, master, "add", "-f", write("noid.json", `{"run":{"cmd":"x"}}`)); err == nil || !strings.Contains(err.Error(), "no id") {
		t.Errorf("add without an id: %v", err)
	}
	if _, err := runJobsCmd(t, master, "add"); err == nil {
		t.Error("add without -f succeeded")
	}
	if got := len(calls()); got != n {
		t.Errorf("bad input reached the master: %v", calls()[n:])
	}
}

// TestRunStarted: what "jobs run" says of each state the master answers.
func TestRunStarted(t *testing.T) {
	started, _ := time.Parse(time.RFC3339, "2024-05-01T10:00:03Z")
	cases := []struct {
		run  cliRun
		want string
	}{
		{cliRun{ID: "r1", Status: "ACTIVE", Reason: "waiting for its state to be stored"}, "run r1 of job j queued: waiting for its state to be stored"},
		{cliRun{ID: "r1", Status: "ACTIVE"}, "run r1 of job j queued"},
		{cliRun{ID: "r1", Status: "ACTIVE", StartedAt: started}, "run r1 of job j started"},
		{cliRun{ID: "r1", Status: "SUCCESS", StartedAt: started}, "run r1 of job j: SUCCESS"},
	}
	for _, tc := range cases {
		if got := runStarted(tc.run, "j"); got != tc.want {
			t.Errorf("runStarted(%+v) = %q, want %q", tc.run, got, tc.want)
		}
	}
}
