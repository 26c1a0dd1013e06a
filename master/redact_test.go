package master

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/internal/testutil"
)

// Env values are secrets as often as not: a reader credential (dashboards,
// web UIs) sees which variables an app or a job sets, an operator also
// their values, and the stored definitions are untouched.
func TestEnvValuesOnlyForOperators(t *testing.T) {
	tm := startMaster(t, openEmbeddedStore(t), func(c *Config) { c.Credentials = testCredentials(t) })
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, tm.m.Leading, "the master never became leader")
	ops := testTokens["ops"]
	if code, body := authed(t, http.MethodPost, tm.url+"/v2/apps", ops,
		json.RawMessage(`{"id":"/web","cmd":"sleep 600","cpus":0.1,"mem":16,"instances":0,"env":{"DB_PASSWORD":"hunter2"}}`)); code != http.StatusCreated {
		t.Fatalf("POST /v2/apps: %d %s", code, body)
	}
	if code, body := authed(t, http.MethodPost, tm.url+"/v1/jobs", ops,
		json.RawMessage(`{"id":"backup","run":{"cmd":"true","cpus":0.1,"mem":16,"env":{"S3_KEY":"AKIA123"}}}`)); code/100 != 2 {
		t.Fatalf("POST /v1/jobs: %d %s", code, body)
	}
	envOf := func(path, token string, pick func([]byte) map[string]string) map[string]string {
		t.Helper()
		code, body := authed(t, http.MethodGet, tm.url+path, token, nil)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		return pick(body)
	}
	appList := func(b []byte) map[string]string {
		var v struct {
			Apps []struct {
				Env map[string]string `json:"env"`
			} `json:"apps"`
		}
		if err := json.Unmarshal(b, &v); err != nil || len(v.Apps) != 1 {
			t.Fatalf("apps: %v: %s", err, b)
		}
		return v.Apps[0].Env
	}
	app := func(b []byte) map[string]string {
		var v struct {
			App struct {
				Env map[string]string `json:"env"`
			} `json:"app"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("app: %v: %s", err, b)
		}
		return v.App.Env
	}
	job := func(b []byte) map[string]string {
		var v struct {
			Run struct {
				Env map[string]string `json:"env"`
			} `json:"run"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("job: %v: %s", err, b)
		}
		return v.Run.Env
	}
	jobList := func(b []byte) map[string]string {
		var v []json.RawMessage
		if err := json.Unmarshal(b, &v); err != nil || len(v) != 1 {
			t.Fatalf("jobs: %v: %s", err, b)
		}
		return job(v[0])
	}
	for _, tc := range []struct {
		path, key, value string
		pick             func([]byte) map[string]string
	}{
		{"/v2/apps", "DB_PASSWORD", "hunter2", appList},
		{"/v2/apps/web", "DB_PASSWORD", "hunter2", app},
		{"/v1/jobs", "S3_KEY", "AKIA123", jobList},
		{"/v1/jobs/backup", "S3_KEY", "AKIA123", job},
	} {
		if got := envOf(tc.path, testTokens["ui"], tc.pick); got[tc.key] != RedactedEnv {
			t.Errorf("GET %s as a reader: env %v, want %s redacted", tc.path, got, tc.key)
		}
		if got := envOf(tc.path, ops, tc.pick); got[tc.key] != tc.value {
			t.Errorf("GET %s as an operator: env %v, want %s=%s", tc.path, got, tc.key, tc.value)
		}
	}
}
