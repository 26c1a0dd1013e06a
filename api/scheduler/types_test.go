package scheduler

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/headroom-dev/headroom/internal/resources"
)

func TestCallValidate(t *testing.T) {
	fw := NewID("f1")
	for _, tc := range []struct {
		name string
		call Call
		want string // "" for valid
	}{
		{"subscribe", Call{Type: CallSubscribe, Subscribe: &Subscribe{}}, ""},
		{"subscribe without member", Call{Type: CallSubscribe}, "subscribe: required"},
		{"teardown", Call{Type: CallTeardown, FrameworkID: fw}, ""},
		{"revive without roles", Call{Type: CallRevive, FrameworkID: fw}, ""},
		{"accept without framework", Call{Type: CallAccept, Accept: &Accept{}}, "framework_id"},
		{"kill without member", Call{Type: CallKill, FrameworkID: fw}, "kill: required"},
		{"two members", Call{Type: CallKill, FrameworkID: fw, Kill: &Kill{}, Decline: &Decline{}}, "decline: set on a KILL call"},
		{"unknown type", Call{Type: "MESSAGE", FrameworkID: fw}, "unknown call"},
	} {
		err := tc.call.Validate()
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestScalarsRoundTrip(t *testing.T) {
	r := resources.Resources{CPUs: 1.5, MemBytes: 512 << 20, Disk: 1 << 30}
	rs := append(Scalars(r, true), Scalars(resources.Resources{CPUs: 0.25, MemBytes: 64 << 20}, false)...)
	data, err := json.Marshal(rs)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `{"name":"cpus","type":"SCALAR","scalar":{"value":1.5},"revocable":{}}`) {
		t.Errorf("wire form %s: want Mesos' shape with the revocable marker", data)
	}
	ded, rev, err := Sum(rs)
	if err != nil || rev != r || ded != (resources.Resources{CPUs: 0.25, MemBytes: 64 << 20}) {
		t.Errorf("Sum: dedicated %v revocable %v err %v", ded, rev, err)
	}
}

func TestSumRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		rs   []Resource
		want string
	}{
		{"unknown name", []Resource{{Name: "gpus", Type: TypeScalar, Scalar: &Scalar{1}}}, "resources[0].name"},
		{"ranges", []Resource{{Name: "ports", Type: "RANGES"}}, "resources[0].type"},
		{"no scalar", []Resource{{Name: "cpus", Type: TypeScalar}}, "resources[0].scalar"},
		{"negative", []Resource{{Name: "cpus", Type: TypeScalar, Scalar: &Scalar{1}}, {Name: "mem", Type: TypeScalar, Scalar: &Scalar{-1}}}, "resources[1].scalar.value"},
		{"huge", []Resource{{Name: "mem", Type: TypeScalar, Scalar: &Scalar{1e300}}}, "resources[0].scalar.value"},
	} {
		if _, _, err := Sum(tc.rs); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", tc.name, err, tc.want)
		}
	}
}

func TestFiltersRefuse(t *testing.T) {
	if _, set, err := (*Filters)(nil).Refuse(); set || err != nil {
		t.Errorf("nil filters: set %v err %v", set, err)
	}
	if d, set, err := RefuseSeconds(2.5).Refuse(); !set || err != nil || d.Seconds() != 2.5 {
		t.Errorf("2.5 s: %v %v %v", d, set, err)
	}
	for _, bad := range []float64{-1, 1e12} {
		if _, _, err := RefuseSeconds(bad).Refuse(); err == nil || !strings.Contains(err.Error(), "refuse_seconds") {
			t.Errorf("refuse_seconds %v: %v, want an error naming the field", bad, err)
		}
	}
}

func TestReasonAndRole(t *testing.T) {
	if got := Reason("agent_unreachable"); got != "REASON_AGENT_UNREACHABLE" {
		t.Errorf("Reason: %s", got)
	}
	if Reason("") != "" {
		t.Error("an empty reason must stay empty")
	}
	if r := (FrameworkInfo{}).RoleName(); r != "*" {
		t.Errorf("default role %q", r)
	}
	if r := (FrameworkInfo{Role: "batch"}).RoleName(); r != "batch" {
		t.Errorf("legacy role %q", r)
	}
}
