package scheduler_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	mesossched "github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/internal/resources"
)

// TestMesosGoReadsEvents: mesos-go's JSON codec decodes every event as
// the master encodes it for the wire.
func TestMesosGoReadsEvents(t *testing.T) {
	offered := scheduler.WithAllocation(append(
		scheduler.Scalars(resources.Resources{CPUs: 2, MemBytes: 1 << 30}, true),
		scheduler.Scalars(resources.Resources{CPUs: 1}, false)...), "batch")
	events := []scheduler.Event{
		{Type: scheduler.EventSubscribed, Subscribed: &scheduler.Subscribed{FrameworkID: scheduler.ID{Value: "fw-1"}, HeartbeatIntervalSeconds: 15}},
		{Type: scheduler.EventOffers, Offers: &scheduler.OffersEvent{Offers: []scheduler.Offer{{
			ID: scheduler.ID{Value: "o1"}, FrameworkID: scheduler.ID{Value: "fw-1"}, AgentID: scheduler.ID{Value: "a1"},
			Hostname: "h1", Resources: offered, Expires: 1795430412.5,
			Attributes:     []scheduler.Attribute{{Name: "rack", Type: "TEXT", Text: &scheduler.Text{Value: "r1"}}},
			AllocationInfo: &scheduler.AllocationInfo{Role: "batch"},
		}}}},
		{Type: scheduler.EventRescind, Rescind: &scheduler.RescindEvent{OfferID: scheduler.ID{Value: "o1"}}},
		{Type: scheduler.EventHeartbeat},
		{Type: scheduler.EventError, Error: &scheduler.ErrorEvent{Message: "torn down"}},
	}
	for _, reason := range []string{api.ReasonLaunched, api.ReasonOOMKilled, api.ReasonPreemptedCPU, api.ReasonAgentUnreachable,
		api.ReasonReconciliation, api.ReasonExited, api.ReasonKilledByRequest, "launch_failed", "not_yet_invented"} {
		for _, state := range []string{scheduler.TaskRunning, scheduler.TaskFailed, scheduler.TaskKilled, scheduler.TaskUnreachable} {
			st := scheduler.TaskStatus{TaskID: scheduler.ID{Value: "t1"}, State: state, Source: scheduler.SourceAgent,
				Message: "m", AgentID: scheduler.NewID("a1"), Timestamp: float64(time.Unix(100, 0).Unix()),
				UUID: "0123456789abcdef0123456789abcdef"}
			events = append(events, scheduler.Event{Type: scheduler.EventUpdate, Update: &scheduler.UpdateEvent{Status: st.ForMesos(reason)}})
		}
	}
	for _, ev := range events {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var got mesossched.Event
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("mesos-go cannot decode %s: %v", b, err)
		}
		if got.Type.String() != string(ev.Type) {
			t.Fatalf("type %v, want %s", got.Type, ev.Type)
		}
		switch ev.Type {
		case scheduler.EventOffers:
			o := got.GetOffers().GetOffers()[0]
			if o.GetAllocationInfo().GetRole() != "batch" || len(o.Resources) != 3 || o.Resources[0].GetAllocationInfo().GetRole() != "batch" ||
				o.Resources[0].GetRevocable() == nil || o.Resources[2].GetRevocable() != nil || o.Resources[0].GetScalar().GetValue() != 2 {
				t.Fatalf("offer as mesos-go reads it: %+v", o)
			}
		case scheduler.EventUpdate:
			st := got.GetUpdate().GetStatus()
			if len(st.GetUUID()) != 16 {
				t.Fatalf("uuid of %d bytes from %s", len(st.GetUUID()), b)
			}
			if lbl := st.GetLabels().GetLabels(); len(lbl) != 1 || lbl[0].GetKey() != scheduler.ReasonLabel {
				t.Fatalf("labels %+v", lbl)
			}
		}
	}
}

// TestMesosGoCallsDecode: what mesos-go's JSON codec sends decodes and
// validates, with the parts headroom does not know reported.
func TestMesosGoCallsDecode(t *testing.T) {
	failover := 60.0
	info := &mesos.FrameworkInfo{User: "root", Name: "fw", FailoverTimeout: &failover, Roles: []string{"batch"},
		Capabilities: []mesos.FrameworkInfo_Capability{{Type: mesos.FrameworkInfo_Capability_MULTI_ROLE}, {Type: mesos.FrameworkInfo_Capability_REVOCABLE_RESOURCES}}}
	role := "batch"
	alloc := &mesos.Resource_AllocationInfo{Role: &role}
	shell := true
	cmd := "sleep 1"
	task := mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "t1"}, AgentID: mesos.AgentID{Value: "a1"},
		Resources: []mesos.Resource{{Name: "cpus", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: 0.5}, AllocationInfo: alloc, Revocable: &mesos.Resource_RevocableInfo{}}},
		Command:   &mesos.CommandInfo{Value: &cmd, Shell: &shell}}
	uuid := []byte("0123456789abcdef")
	for _, c := range []*mesossched.Call{
		calls.Subscribe(info),
		calls.Accept(calls.OfferOperations{calls.OpLaunch(task)}.WithOffers(mesos.OfferID{Value: "o1"})).With(calls.Framework("fw-1"), calls.RefuseSeconds(5*time.Second)),
		calls.Decline(mesos.OfferID{Value: "o1"}).With(calls.Framework("fw-1")),
		calls.Acknowledge("a1", "t1", uuid).With(calls.Framework("fw-1")),
		calls.Reconcile(calls.ReconcileTasks(map[string]string{"t1": "a1"})).With(calls.Framework("fw-1")),
		calls.Kill("t1", "a1").With(calls.Framework("fw-1")),
		calls.Revive().With(calls.Framework("fw-1")),
		calls.Suppress().With(calls.Framework("fw-1")),
		(&mesossched.Call{Type: mesossched.Call_TEARDOWN}).With(calls.Framework("fw-1")),
	} {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var ignored []string
		got, err := scheduler.DecodeCall(bytes.NewReader(b), 1<<20, func(i api.Ignored) { ignored = append(ignored, i.String()) })
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if err := got.Validate(); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		switch got.Type {
		case scheduler.CallSubscribe:
			if !got.Subscribe.FrameworkInfo.Has(scheduler.CapabilityRevocable) || got.Subscribe.FrameworkInfo.RoleName() != "batch" {
				t.Fatalf("subscribe %+v", got.Subscribe)
			}
		case scheduler.CallAccept:
			ti := got.Accept.Operations[0].Launch.TaskInfos[0]
			if err := ti.CheckSupported(); err != nil {
				t.Fatal(err)
			}
			if err := scheduler.CheckAllocation(ti.Resources, "batch"); err != nil {
				t.Fatal(err)
			}
			if _, rev, err := scheduler.Sum(ti.Resources); err != nil || rev.CPUs != 0.5 {
				t.Fatalf("resources %+v: %v", ti.Resources, err)
			}
		case scheduler.CallAcknowledge:
			want := scheduler.EncodeUUID("30313233343536373839616263646566")
			if c, err := scheduler.CanonicalUUID(got.Acknowledge.UUID); err != nil || c != want {
				t.Fatalf("ack uuid %q: %q %v, want %q", got.Acknowledge.UUID, c, err, want)
			}
		}
		if strings.Contains(strings.Join(ignored, " "), "type") {
			t.Fatalf("the call's own fields were ignored: %v", ignored)
		}
	}
}
