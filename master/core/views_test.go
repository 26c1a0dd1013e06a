package core

import (
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/headroom-dev/headroom/api"
)

// TestStagedTaskSaysWhatItWaitsFor: a launched task not yet reported
// started says so in the task list, with where and since when.
func TestStagedTaskSaysWhatItWaitsFor(t *testing.T) {
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	te := &Task{Info: api.TaskInfo{ID: "web.1", FrameworkID: "headroom-apps"}, AgentID: "a1", Hostname: "h1",
		Status: api.TaskStatus{TaskID: "web.1", State: api.TaskStaging, Timestamp: at}}
	want := "launched on h1 at 2030-01-01T00:00:00Z; waiting for the agent to report it started"
	if got := te.View().Reason; got != want {
		t.Fatalf("reason %q, want %q", got, want)
	}
	te.Status = api.TaskStatus{TaskID: "web.1", State: api.TaskFailed, Reason: api.ReasonFetchFailed, Timestamp: at}
	if got := te.View().Reason; got != api.ReasonFetchFailed {
		t.Fatalf("reason of an ended task %q, want its own %q", got, api.ReasonFetchFailed)
	}
}

// No external framework lists as [], not null: clients range over it.
func TestNoFrameworksIsAnEmptyList(t *testing.T) {
	s := &script{}
	if err := s.newCore(args{td: &datadriven.TestData{}}); err != nil {
		t.Fatal(err)
	}
	if got := s.c.Frameworks("", s.now); got == nil || len(got) != 0 {
		t.Errorf("Frameworks = %#v, want an empty list", got)
	}
	if got := s.c.AllFrameworks(s.now); len(got) != 1 || !got[0].Builtin {
		t.Errorf("AllFrameworks = %+v, want the built-in apps framework", got)
	}
}
