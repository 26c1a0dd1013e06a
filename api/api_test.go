package api

import (
	"strings"
	"testing"

	"github.com/headroom-dev/headroom/internal/resources"
)

func TestDecodeStrict(t *testing.T) {
	type doc struct {
		Name  string            `json:"name"`
		N     int               `json:"n"`
		Attrs map[string]string `json:"attrs"`
	}
	tests := []struct{ in, want string }{
		{`{"name":"a","n":1}`, ""},
		{``, "empty body"},
		{`{"name":`, "malformed JSON"},
		{`{"name":"a","extra":1}`, "unknown field"},
		{`{"n":"one"}`, `field "n"`},
		{`{"attrs":{"rack":1}}`, `field "attrs`},
		{`{"name":"a"} {"name":"b"}`, "trailing data"},
		{`{"name":"a"}}`, "trailing data"},
		{`{"name":"` + strings.Repeat("x", 200) + `"}`, "larger than"},
	}
	for _, tc := range tests {
		var d doc
		err := DecodeStrict(strings.NewReader(tc.in), &d, 100)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.40s: error %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestTaskInfoValidate(t *testing.T) {
	good := TaskInfo{ID: "web.1", Cmd: "sleep 1", Resources: resources.Resources{CPUs: 0.5, MemBytes: 1 << 20}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		edit func(*TaskInfo)
		want string
	}{
		{func(t *TaskInfo) { t.ID = "../x" }, "id"},
		{func(t *TaskInfo) { t.ID = "a/b" }, "id"},
		{func(t *TaskInfo) { t.Args = []string{"x"} }, "cmd"},
		{func(t *TaskInfo) { t.Cmd = "" }, "cmd"},
		{func(t *TaskInfo) { t.Resources.CPUs = 0 }, "resources.cpus"},
		{func(t *TaskInfo) { t.Resources.MemBytes = -1 }, "resources"},
		{func(t *TaskInfo) { t.Env = map[string]string{"A-B": "1"} }, "env[A-B]"},
		{func(t *TaskInfo) { t.Fetch = []FetchURI{{URI: "ftp://x/y"}} }, "fetch[0]"},
		{func(t *TaskInfo) { t.Fetch = []FetchURI{{URI: "http://x/y", OutputFile: "../z"}} }, "output_file"},
		{func(t *TaskInfo) { t.Fetch = []FetchURI{{URI: "http://x/y", SHA256: "abc"}} }, "sha256"},
		{func(t *TaskInfo) { t.Rootfs = "/etc" }, "rootfs"},
		{func(t *TaskInfo) { t.Rootfs = "a/../../b" }, "rootfs"},
		{func(t *TaskInfo) { t.KillGracePeriodSeconds = -1 }, "kill_grace_period_seconds"},
		{func(t *TaskInfo) { t.User = "Root;" }, "user"},
	}
	for i, tc := range tests {
		ti := good
		tc.edit(&ti)
		if err := ti.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("case %d: error %v, want it to name %q", i, err, tc.want)
		}
	}
}

func TestTaskStateTerminal(t *testing.T) {
	for s, want := range map[TaskState]bool{TaskRunning: false, TaskStaging: false, TaskUnreachable: false,
		TaskFinished: true, TaskFailed: true, TaskKilled: true, TaskPreempted: true, TaskLost: true} {
		if s.IsTerminal() != want {
			t.Errorf("%s.IsTerminal() = %v", s, !want)
		}
	}
}
