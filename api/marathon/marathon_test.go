package marathon

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/master/apps"
)

var update = flag.Bool("update", false, "rewrite testdata/*.warnings from the current output")

// TestDocExamples: every app written from the shapes of Marathon's
// documentation is accepted and valid, and what has no effect here is
// listed in warnings (testdata/<name>.warnings, one per line).
func TestDocExamples(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(bytes.NewReader(data), apps.MaxBodyBytes)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			a, warnings, err := ToApp(m, Options{})
			if err != nil {
				t.Fatalf("convert: %v", err)
			}
			if err := a.Validate(); err != nil {
				t.Fatalf("validate: %v", err)
			}
			got := strings.Join(warnings, "\n") + "\n"
			golden := strings.TrimSuffix(f, ".json") + ".warnings"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Fatalf("warnings:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestHealthChecksConvert(t *testing.T) {
	data, _ := os.ReadFile("testdata/health-checks.json")
	m, err := Decode(bytes.NewReader(data), apps.MaxBodyBytes)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := ToApp(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range a.HealthChecks {
		got = append(got, h.Protocol+":"+itoa(h.Port)+":"+itoa(h.MaxConsecutiveFailures))
	}
	// MESOS_HTTPS is dropped; MESOS_* run as their plain protocol on the
	// port at portIndex; unset numbers take Marathon's defaults.
	want := []string{"HTTP:10080:3", "TCP:10081:0", "TCP:10081:3", "COMMAND:0:3"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("checks %v, want %v", got, want)
	}
	if a.Revocable || a.Instances != 3 || a.Disk != 50 || a.Env["LOG_LEVEL"] != "info" || a.Env["DB_PASSWORD"] != "" ||
		len(a.Constraints) != 3 || a.ID != "product/service/web" {
		t.Fatalf("app %+v", a)
	}
}

func TestConstraintForms(t *testing.T) {
	data, _ := os.ReadFile("testdata/uris-constraint-forms.json")
	m, err := Decode(bytes.NewReader(data), apps.MaxBodyBytes)
	if err != nil {
		t.Fatal(err)
	}
	a, _, _ := ToApp(m, Options{})
	want := [][]string{{"hostname", "UNIQUE"}, {"zone", "IS", "eu-1"}, {"rack", "CLUSTER", "r1"}}
	if !reflect.DeepEqual(a.Constraints, want) {
		t.Fatalf("constraints %v, want %v", a.Constraints, want)
	}
	if !a.Revocable || len(a.Fetch) != 2 || !a.Fetch[0].Extract || a.Fetch[1].Extract {
		t.Fatalf("app %+v", a)
	}
}

// TestBadInput: what cannot be understood is an error naming the field.
func TestBadInput(t *testing.T) {
	for in, want := range map[string]string{
		`{"id": "a", "cmd": "x", "cpus": "1"}`:                           `field "cpus": got a string, want a number`,
		`{"id": "a", "cmd": "x", "instances": 1.5}`:                      `field "instances": got 1.5, want a whole number`,
		`{"id": "a", "cmd": "x", "constraints": [7]}`:                    `constraints`,
		`{"id": "a", "cmd": "x", "env": {"A": 1}}`:                       `env`,
		`{"id": "a", "cmd": "x", "unreachableStrategy": "sometimes"}`:    `unreachableStrategy`,
		`{"id": "a", "cmd": "x", "healthChecks": [{"portIndex": "0"}]}`:  `field "healthChecks.portIndex"`,
		`{"id": "a", "cmd": "x", "instnces": 2}`:                         `unknown field "instnces"`,
		`{"id": "a", "healthChecks": [{"protocol": "TCP", "bogus": 1}]}`: `unknown field "healthChecks[0].bogus"`,
	} {
		_, err := Decode(strings.NewReader(in), 1<<20)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", in, err, want)
		}
	}
	m, err := Decode(strings.NewReader(`{"id": "a", "cmd": "x", "ports": [80], "healthChecks": [{"portIndex": 3}]}`), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = ToApp(m, Options{})
	var ve *apps.ValidationError
	if !asValidation(err, &ve) || ve.Details[0].Path != "/healthChecks/0/portIndex" {
		t.Fatalf("portIndex past the ports: %v", err)
	}
}

func asValidation(err error, ve **apps.ValidationError) bool {
	v, ok := err.(*apps.ValidationError)
	*ve = v
	return ok
}

// TestRoundTrip: what a client reads back and sends again is the same
// app, with no warnings: GET, then PUT of the same document.
func TestRoundTrip(t *testing.T) {
	data, _ := os.ReadFile("testdata/health-checks.json")
	m, _ := Decode(bytes.NewReader(data), apps.MaxBodyBytes)
	a, _, _ := ToApp(m, Options{})
	a.Version = "2026-01-02T03:04:05.000Z"
	view := View(apps.AppStatus{App: a, TasksRunning: 1, Deployments: []string{"d1"}, LastFailure: "exited 1"},
		[]apps.Task{{ID: "t1", AppID: a.ID, Hostname: "h1", AgentID: "ag1", State: "TASK_RUNNING", StagedAt: time.Unix(1, 0)}}, nil)
	b, err := json.Marshal(AppResponse{App: view})
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]map[string]any
	_ = json.Unmarshal(b, &raw)
	app := raw["app"]
	if app["id"] != "/product/service/web" || app["version"] != a.Version {
		t.Fatalf("view: %s", b)
	}
	if ltf, ok := app["lastTaskFailure"].(map[string]any); !ok || ltf["message"] != "exited 1" || ltf["appId"] != "/product/service/web" {
		t.Fatalf("lastTaskFailure: %v", app["lastTaskFailure"])
	}
	if tasks := app["tasks"].([]any); tasks[0].(map[string]any)["appId"] != "/product/service/web" {
		t.Fatalf("tasks: %v", app["tasks"])
	}
	again, err := Decode(bytes.NewReader(mustJSON(t, app)), apps.MaxBodyBytes)
	if err != nil {
		t.Fatalf("re-decoding the view: %v", err)
	}
	b2, warnings, err := ToApp(again, Options{DefaultRevocable: true})
	if err != nil || len(warnings) != 0 {
		t.Fatalf("round trip: %v, warnings %v", err, warnings)
	}
	b2.Version = a.Version
	if !reflect.DeepEqual(a, b2) {
		t.Fatalf("round trip changed the app:\n%+v\n%+v", a, b2)
	}
}

func TestMergePartialUpdate(t *testing.T) {
	a := apps.NewApp("/web")
	a.Cmd = "serve"
	a.Instances = 2
	merged, err := Merge(FromApp(a), []byte(`{"id": "/web", "instances": 5, "ports": null, "dependencies": null}`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(bytes.NewReader(merged), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	b, warnings, err := ToApp(m, Options{})
	if err != nil || len(warnings) != 0 {
		t.Fatal(err, warnings)
	}
	if b.Instances != 5 || b.Cmd != "serve" || !b.Revocable {
		t.Fatalf("merged %+v", b)
	}
}

func TestGroupTree(t *testing.T) {
	views := []AppView{{App: App{ID: "/a"}}, {App: App{ID: "/prod/web"}}, {App: App{ID: "/prod/db/pg"}}}
	g := GroupTree(views)
	if len(g.Apps) != 1 || len(g.Groups) != 1 || g.Groups[0].ID != "/prod" || g.Groups[0].Groups[0].ID != "/prod/db" {
		t.Fatalf("tree %+v", g)
	}
	if sub, ok := g.Find("prod/db"); !ok || sub.Apps[0].ID != "/prod/db/pg" {
		t.Fatalf("find: %+v %v", sub, ok)
	}
}

func TestQueueAndDeployment(t *testing.T) {
	now := time.Unix(1000, 0)
	st := apps.AppStatus{App: apps.NewApp("/w"), Waiting: 2, DelayedUntil: now.Add(3 * time.Second), Reason: "backing off"}
	item, ok := QueueView(st, now)
	if !ok || item.Count != 2 || item.Delay.TimeLeftSeconds != 3 || item.Delay.Overdue {
		t.Fatalf("queue %+v", item)
	}
	d := DeploymentView(apps.Deployment{ID: "d1", AppID: "w", Kind: "scale", Started: now})
	if d.AffectedApps[0] != "/w" || d.Steps[0].Actions[0].Action != "ScaleApplication" || d.TotalSteps != 1 {
		t.Fatalf("deployment %+v", d)
	}
	var b bytes.Buffer
	if err := WriteSSE(&b, EventDeploymentSuccess, DeploymentDone{EventType: EventDeploymentSuccess, ID: "d1"}); err != nil {
		t.Fatal(err)
	}
	if b.String() != "event: deployment_success\ndata: {\"eventType\":\"deployment_success\",\"timestamp\":\"\",\"id\":\"d1\"}\n\n" {
		t.Fatalf("sse %q", b.String())
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + jsonNum(n)) }

func jsonNum(n int) string { b, _ := json.Marshal(n); return string(b) }

// A Marathon client knows nothing of harvesting: an app that leaves
// revocable out prefers harvested capacity and falls back to dedicated
// capacity; one that chose its pool keeps to it; the view gives both back,
// so a client that sends back what it read changes nothing.
func TestRevocableDefaults(t *testing.T) {
	for _, tc := range []struct {
		doc                 string
		revocable, fallback bool
	}{
		{`{"id":"/a","cmd":"x"}`, true, true},
		{`{"id":"/a","cmd":"x","revocable":true}`, true, false},
		{`{"id":"/a","cmd":"x","revocable":false}`, false, false},
		{`{"id":"/a","cmd":"x","dedicatedFallback":false}`, true, false},
	} {
		var m App
		if err := json.Unmarshal([]byte(tc.doc), &m); err != nil {
			t.Fatal(err)
		}
		a, _, err := ToApp(m, Options{DefaultRevocable: true})
		if err != nil {
			t.Fatalf("%s: %v", tc.doc, err)
		}
		if a.Revocable != tc.revocable || a.DedicatedFallback != tc.fallback {
			t.Errorf("%s: revocable %v, dedicated fallback %v; want %v, %v", tc.doc, a.Revocable, a.DedicatedFallback, tc.revocable, tc.fallback)
		}
		back, _, err := ToApp(FromApp(a), Options{DefaultRevocable: true})
		if err != nil || back.Revocable != a.Revocable || back.DedicatedFallback != a.DedicatedFallback {
			t.Errorf("%s: read back as revocable %v, fallback %v (%v)", tc.doc, back.Revocable, back.DedicatedFallback, err)
		}
	}
}
