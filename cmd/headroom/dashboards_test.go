package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/headroom-dev/headroom/dashboards"
)

// runDashboardsCmd runs `headroom dashboards args...` and returns its output.
func runDashboardsCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newDashboardsCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func writeToken(t *testing.T, token string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDashboardsOut(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	out, err := runDashboardsCmd(t, "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) < 4 {
		t.Fatalf("wrote %v, want 4 or more dashboards", files)
	}
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		var d struct{ UID string }
		if err := json.Unmarshal(raw, &d); err != nil || d.UID+".json" != filepath.Base(f) {
			t.Errorf("%s: uid %q, %v", f, d.UID, err)
		}
	}
	if !strings.Contains(out, "wrote") {
		t.Errorf("output %q", out)
	}
}

func TestDashboardsUpload(t *testing.T) {
	var mu sync.Mutex
	got := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/dashboards/db" {
			t.Errorf("%s %s, want POST /api/dashboards/db", r.Method, r.URL.Path)
		}
		if a := r.Header.Get("Authorization"); a != "Bearer s3cret" {
			t.Errorf("Authorization %q, want the trimmed token", a)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		var body struct {
			Dashboard map[string]any `json:"dashboard"`
			Overwrite *bool          `json:"overwrite"`
			FolderUID *string        `json:"folderUid"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("body: %v", err)
		}
		uid, _ := body.Dashboard["uid"].(string)
		if uid == "" || body.Overwrite == nil || !*body.Overwrite || body.FolderUID == nil || *body.FolderUID != "team-a" {
			t.Errorf("body: uid %q overwrite %v folderUid %v: want a uid, overwrite true, folderUid team-a", uid, body.Overwrite, body.FolderUID)
		}
		if _, ok := body.Dashboard["id"]; ok {
			t.Errorf("%s: sent with an id", uid)
		}
		mu.Lock()
		got[uid] = true
		mu.Unlock()
		io.WriteString(w, `{"status":"success","uid":"`+uid+`"}`)
	}))
	defer srv.Close()

	out, err := runDashboardsCmd(t, "--grafana-url", srv.URL, "--token-file", writeToken(t, "  s3cret\n"), "--folder-uid", "team-a")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dashboards.All() {
		if !got[d.UID] {
			t.Errorf("%s was not uploaded", d.UID)
		}
		if !strings.Contains(out, d.UID) {
			t.Errorf("output %q does not name %s", out, d.UID)
		}
	}
	if len(got) < 4 {
		t.Errorf("uploaded %v, want 4 or more dashboards", got)
	}
}

func TestDashboardsUploadErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		answer string
	}{
		{http.StatusUnauthorized, `{"message":"invalid API key"}`},
		{http.StatusInternalServerError, `{"message":"database is locked"}`},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.answer)
		}))
		_, err := runDashboardsCmd(t, "--grafana-url", srv.URL, "--token-file", writeToken(t, "tok"))
		srv.Close()
		first := dashboards.All()[0].UID
		if err == nil || !strings.Contains(err.Error(), first) || !strings.Contains(err.Error(), tc.answer) ||
			!strings.Contains(err.Error(), http.StatusText(tc.status)) {
			t.Errorf("Grafana answering %d: error %v, want one naming %s and quoting %s", tc.status, err, first, tc.answer)
		}
	}
}

func TestDashboardsFlags(t *testing.T) {
	empty := writeToken(t, " \n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--out or --grafana-url"},
		{[]string{"--grafana-url", "http://127.0.0.1:1"}, "--token-file"},
		{[]string{"--grafana-url", "http://127.0.0.1:1", "--token-file", "/nonexistent/token"}, "--token-file"},
		{[]string{"--grafana-url", "http://127.0.0.1:1", "--token-file", empty}, "empty"},
		{[]string{"--grafana-url", "grafana:3000", "--token-file", writeToken(t, "t")}, "grafana URL"},
		{[]string{"--out", t.TempDir(), "--folder-uid", "x"}, "--folder-uid"},
		{[]string{"--out", t.TempDir(), "extra"}, "unknown command"},
	} {
		_, err := runDashboardsCmd(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
}
