package apps

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/headroom-dev/headroom/master/framework"
)

func TestDecodeDefaults(t *testing.T) {
	a, err := DecodeApp(strings.NewReader(`{"id":"/web","cmd":"sleep 1","healthChecks":[{"protocol":"TCP","port":80}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "web" || a.CPUs != 1 || a.Mem != 128 || a.Disk != 0 || a.Instances != 1 ||
		a.BackoffSeconds != 1 || a.BackoffFactor != 1.15 || a.MaxLaunchDelaySeconds != 3600 || !a.Revocable {
		t.Fatalf("defaults not applied: %+v", a)
	}
	hc := a.HealthChecks[0]
	if hc.GracePeriodSeconds != 300 || hc.IntervalSeconds != 60 || hc.TimeoutSeconds != 20 || hc.MaxConsecutiveFailures != 3 {
		t.Fatalf("health check defaults not applied: %+v", hc)
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err = DecodeApp(strings.NewReader(`{"id":"web","cmd":"x","instances":0,"revocable":false}`))
	if err != nil || a.Instances != 0 || a.Revocable {
		t.Fatalf("explicit zero values lost: %+v %v", a, err)
	}
}

func TestDecodeStrict(t *testing.T) {
	for _, body := range []string{
		`{"id":"web","cmd":"x","cpu":1}`,
		`{"id":"web","cmd":"x","healthChecks":[{"protocol":"TCP","port":1,"prot":2}]}`,
		`{"id":"web"} {}`,
		strings.Repeat(" ", MaxBodyBytes+1) + "{}",
	} {
		if _, err := DecodeApp(strings.NewReader(body)); err == nil {
			t.Errorf("DecodeApp(%.60q) accepted", body)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*App)
		path string
	}{
		{"empty id", func(a *App) { a.ID = "" }, "/id"},
		{"upper id", func(a *App) { a.ID = "Web" }, "/id"},
		{"bad segment", func(a *App) { a.ID = "web/-x" }, "/id"},
		{"dots", func(a *App) { a.ID = "a..b" }, "/id"},
		{"underscore", func(a *App) { a.ID = "a_b" }, "/id"},
		{"no cmd", func(a *App) { a.Cmd = "" }, "/cmd"},
		{"cmd and args", func(a *App) { a.Args = []string{"x"} }, "/cmd"},
		{"zero cpus", func(a *App) { a.CPUs = 0 }, "/cpus"},
		{"huge cpus", func(a *App) { a.CPUs = 2000 }, "/cpus"},
		{"zero mem", func(a *App) { a.Mem = 0 }, "/mem"},
		{"negative disk", func(a *App) { a.Disk = -1 }, "/disk"},
		{"negative instances", func(a *App) { a.Instances = -1 }, "/instances"},
		{"too many instances", func(a *App) { a.Instances = 10001 }, "/instances"},
		{"unknown operator", func(a *App) { a.Constraints = [][]string{{"hostname", "UNIQUE"}, {"rack", "NEAR"}} }, "/constraints/1"},
		{"unique arity", func(a *App) { a.Constraints = [][]string{{"hostname", "UNIQUE", "x"}} }, "/constraints/0"},
		{"short", func(a *App) { a.Constraints = [][]string{{"hostname"}} }, "/constraints/0"},
		{"like no value", func(a *App) { a.Constraints = [][]string{{"rack", "LIKE"}} }, "/constraints/0"},
		{"bad regex", func(a *App) { a.Constraints = [][]string{{"rack", "LIKE", "("}} }, "/constraints/0"},
		{"bad unlike regex", func(a *App) { a.Constraints = [][]string{{"rack", "UNLIKE", "[a"}} }, "/constraints/0"},
		{"group_by not int", func(a *App) { a.Constraints = [][]string{{"rack", "GROUP_BY", "two"}} }, "/constraints/0"},
		{"max_per not int", func(a *App) { a.Constraints = [][]string{{"rack", "MAX_PER", "1.5"}} }, "/constraints/0"},
		{"env key", func(a *App) { a.Env = map[string]string{"1BAD": "x"} }, "/env/1BAD"},
		{"fetch scheme", func(a *App) { a.Fetch = []framework.Fetch{{URI: "ftp://x/y"}} }, "/fetch/0/uri"},
		{"fetch relative", func(a *App) { a.Fetch = []framework.Fetch{{URI: "x/y"}} }, "/fetch/0/uri"},
		{"fetch sha", func(a *App) { a.Fetch = []framework.Fetch{{URI: "/x", SHA256: "zz"}} }, "/fetch/0/sha256"},
		{"fetch dest", func(a *App) { a.Fetch = []framework.Fetch{{URI: "/x", DestPath: "../y"}} }, "/fetch/0/destPath"},
		{"hc protocol", func(a *App) { a.HealthChecks = []HealthCheck{NewHealthCheck("UDP")} }, "/healthChecks/0/protocol"},
		{"hc port", func(a *App) { a.HealthChecks = []HealthCheck{NewHealthCheck("HTTP")} }, "/healthChecks/0/port"},
		{"hc port range", func(a *App) { h := NewHealthCheck("TCP"); h.Port = 70000; a.HealthChecks = []HealthCheck{h} }, "/healthChecks/0/port"},
		{"hc command", func(a *App) { a.HealthChecks = []HealthCheck{NewHealthCheck("COMMAND")} }, "/healthChecks/0/command"},
		{"hc interval", func(a *App) {
			h := NewHealthCheck("TCP")
			h.Port, h.IntervalSeconds = 80, 0
			a.HealthChecks = []HealthCheck{h}
		}, "/healthChecks/0/intervalSeconds"},
		{"hc failures", func(a *App) {
			h := NewHealthCheck("TCP")
			h.Port, h.MaxConsecutiveFailures = 80, -1
			a.HealthChecks = []HealthCheck{h}
		}, "/healthChecks/0/maxConsecutiveFailures"},
		{"backoff", func(a *App) { a.BackoffSeconds = -1 }, "/backoffSeconds"},
		{"factor", func(a *App) { a.BackoffFactor = 0.5 }, "/backoffFactor"},
		{"max delay", func(a *App) { a.MaxLaunchDelaySeconds = -1 }, "/maxLaunchDelaySeconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewApp("/group/web")
			a.Cmd = "sleep 100"
			tt.mod(&a)
			err := a.Validate()
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v, want *ValidationError", err)
			}
			if len(ve.Details) != 1 || ve.Details[0].Path != tt.path || len(ve.Details[0].Errors) == 0 {
				t.Fatalf("details = %+v, want one entry for %s", ve.Details, tt.path)
			}
		})
	}
}

func TestValidateOK(t *testing.T) {
	a := NewApp("/a/b-1/c.d")
	a.Args = []string{"/bin/true"}
	a.Constraints = [][]string{{"hostname", "UNIQUE"}, {"rack", "CLUSTER"}, {"rack", "GROUP_BY", "3"},
		{"zone", "LIKE", "eu-.*"}, {"zone", "UNLIKE", "x"}, {"rack", "MAX_PER", "2"}, {"os", "IS", "linux"}}
	a.Env = map[string]string{"_OK1": "v"}
	a.Fetch = []framework.Fetch{{URI: "https://h/x.tgz", Extract: true}, {URI: "/opt/x"}, {URI: "file:///x", DestPath: "y"}}
	h := NewHealthCheck("HTTP")
	h.Port, h.Path = 8080, "/health"
	c := NewHealthCheck("COMMAND")
	c.Command = &CheckCommand{Value: "true"}
	a.HealthChecks = []HealthCheck{h, c}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidationErrorJSON(t *testing.T) {
	a := NewApp("web")
	a.Cmd, a.CPUs, a.Mem = "x", 0, -1
	err := a.Validate()
	b, _ := json.Marshal(err)
	want := `{"message":"Object is not valid","details":[{"path":"/cpus","errors":["must be \u003e 0 and \u003c= 1024"]},{"path":"/mem","errors":["must be \u003e 0 and \u003c= 1073741824"]}]}`
	if string(b) != want {
		t.Fatalf("got %s\nwant %s", b, want)
	}
}
