package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// mesosFramework is a framework written with mesos-go's v1 scheduler
// client and its JSON codec, as a Mesos user would write it.
type mesosFramework struct {
	t      *testing.T
	caller calls.Caller
	id     string
	events chan scheduler.Event
	// ended is closed when the subscription's stream ends.
	ended  chan struct{}
	cancel context.CancelFunc
}

func newMesosCaller(base, token string) calls.Caller {
	cli := httpcli.New(
		httpcli.Endpoint(base+"/api/v1/scheduler"),
		httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeJSON]),
		httpcli.DefaultHeader("Authorization", "Bearer "+token),
	)
	return httpsched.NewCaller(cli)
}

// subscribe opens a subscription (with the framework's id once it has
// one) and waits for SUBSCRIBED.
func (f *mesosFramework) subscribe(info *mesos.FrameworkInfo) {
	f.t.Helper()
	call := calls.Subscribe(info)
	if f.id != "" {
		info.ID = &mesos.FrameworkID{Value: f.id}
		call = calls.Subscribe(info).With(calls.SubscribeTo(f.id))
	}
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := f.caller.Call(ctx, call)
	if err != nil {
		cancel()
		f.t.Fatalf("SUBSCRIBE: %v", err)
	}
	f.cancel = cancel
	f.events = make(chan scheduler.Event, 1024)
	f.ended = make(chan struct{})
	events, ended := f.events, f.ended
	// The reader is owned by the subscription: it ends with the stream,
	// which the test's cleanup (cancel, Close) ends at the latest.
	go func() {
		defer close(ended)
		defer resp.Close()
		for {
			var ev scheduler.Event
			if err := resp.Decode(&ev); err != nil {
				f.t.Logf("event stream ended: %v", err)
				return
			}
			select {
			case events <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	f.t.Cleanup(func() { cancel(); <-ended })
	ev := f.next(scheduler.Event_SUBSCRIBED)
	got := ev.GetSubscribed().GetFrameworkID().GetValue()
	if f.id != "" && got != f.id {
		f.t.Fatalf("re-subscribed as %q, want the same framework %q", got, f.id)
	}
	f.id = got
}

// next returns the next event of the type, skipping heartbeats and the
// other types; bounded.
func (f *mesosFramework) next(typ scheduler.Event_Type) scheduler.Event {
	f.t.Helper()
	return f.nextThat(typ, func(scheduler.Event) bool { return true }, typ.String())
}

func (f *mesosFramework) nextThat(typ scheduler.Event_Type, ok func(scheduler.Event) bool, what string) scheduler.Event {
	f.t.Helper()
	deadline := time.After(90 * time.Second)
	for {
		select {
		case ev := <-f.events:
			if ev.Type == typ && ok(ev) {
				return ev
			}
			if ev.Type == scheduler.Event_UPDATE {
				f.ack(ev.GetUpdate().GetStatus())
			}
		case <-f.ended:
			f.t.Fatalf("the stream ended while waiting for %s", what)
		case <-deadline:
			f.t.Fatalf("no %s within 90 s", what)
		}
	}
}

func (f *mesosFramework) call(c *scheduler.Call) {
	f.t.Helper()
	c = c.With(calls.Framework(f.id))
	if err := calls.CallNoData(context.Background(), f.caller, c); err != nil {
		f.t.Fatalf("%s: %v", c.GetType(), err)
	}
}

func (f *mesosFramework) ack(st mesos.TaskStatus) {
	f.t.Helper()
	if len(st.GetUUID()) == 0 {
		return
	}
	if len(st.GetUUID()) != 16 {
		f.t.Errorf("status uuid of %d bytes, want 16", len(st.GetUUID()))
	}
	f.call(calls.Acknowledge(st.GetAgentID().GetValue(), st.TaskID.Value, st.GetUUID()))
}

// waitState waits for an update of the task to the state, acknowledging
// every update on the way.
func (f *mesosFramework) waitState(taskID string, state mesos.TaskState) mesos.TaskStatus {
	f.t.Helper()
	return f.waitStatus(taskID, state, func(mesos.TaskStatus) bool { return true })
}

// waitStatus waits for an update of the task to the state that also
// passes ok.
func (f *mesosFramework) waitStatus(taskID string, state mesos.TaskState, ok func(mesos.TaskStatus) bool) mesos.TaskStatus {
	f.t.Helper()
	ev := f.nextThat(scheduler.Event_UPDATE, func(ev scheduler.Event) bool {
		st := ev.GetUpdate().GetStatus()
		if st.TaskID.Value != taskID {
			return false
		}
		if st.GetState() != state || !ok(st) {
			f.ack(st)
			return false
		}
		return true
	}, fmt.Sprintf("%s of %s", state, taskID))
	st := ev.GetUpdate().GetStatus()
	f.ack(st)
	return st
}

// TestMesosGoFramework drives the whole framework life cycle with
// mesos-go v0.0.11 (api/v1, httpsched, JSON codec) against a real
// master and agent: subscribe, offers, launch, running, acknowledge,
// reconcile, a master restart and re-subscription under the same id,
// kill and teardown.
func TestMesosGoFramework(t *testing.T) {
	c := newCluster(t)
	addr := freeAddr(t)
	dataDir := t.TempDir()
	base, master := c.startClientMaster(addr, "--data-dir", dataDir)
	c.startAgentAt("agent-mesos", base, freeAddr(t), "--dedicated", "cpus=1,mem=1GiB")
	c.waitAgents(1)

	f := &mesosFramework{t: t, caller: newMesosCaller(base, c.read(c.frameworkTokenFile))}
	failover := 120.0
	info := &mesos.FrameworkInfo{User: "root", Name: "mesos-go-compat", FailoverTimeout: &failover,
		Capabilities: []mesos.FrameworkInfo_Capability{{Type: mesos.FrameworkInfo_Capability_MULTI_ROLE}},
		Roles:        []string{"*"}}
	f.subscribe(info)

	// An offer with dedicated room for the task, allocated to the role.
	var offer mesos.Offer
	f.nextThat(scheduler.Event_OFFERS, func(ev scheduler.Event) bool {
		for _, o := range ev.GetOffers().GetOffers() {
			cpus := 0.0
			for _, r := range o.GetResources() {
				if r.GetName() == "cpus" && r.GetRevocable() == nil {
					cpus += r.GetScalar().GetValue()
				}
			}
			if cpus >= 0.1 {
				offer = o
				return true
			}
		}
		return false
	}, "an offer with dedicated cpus")
	if offer.GetAllocationInfo().GetRole() != "*" {
		t.Fatalf("offer allocation_info %v, want role *", offer.GetAllocationInfo())
	}
	alloc := offer.GetAllocationInfo()
	res := mesos.Resources{
		resource("cpus", 0.1, alloc), resource("mem", 32, alloc),
	}
	shell := true
	sleep := "sleep 600"
	task := mesos.TaskInfo{Name: "sleeper", TaskID: mesos.TaskID{Value: "mesos-go-sleeper"}, AgentID: offer.AgentID,
		Resources: res, Command: &mesos.CommandInfo{Value: &sleep, Shell: &shell}}
	f.call(calls.Accept(calls.OfferOperations{calls.OpLaunch(task)}.WithOffers(offer.ID)))
	running := f.waitState(task.TaskID.Value, mesos.TASK_RUNNING)
	if running.GetAgentID().GetValue() != offer.AgentID.Value {
		t.Fatalf("running on %q, want the offer's agent %q", running.GetAgentID().GetValue(), offer.AgentID.Value)
	}

	reconcile := func() {
		t.Helper()
		f.call(calls.Reconcile(calls.ReconcileTasks(map[string]string{task.TaskID.Value: offer.AgentID.Value})))
		// The answer is the update with the reconciliation reason and no
		// uuid; the agent's own updates (a recovered task after a
		// restart) may come first.
		st := f.waitStatus(task.TaskID.Value, mesos.TASK_RUNNING, func(st mesos.TaskStatus) bool {
			return st.Reason != nil && *st.Reason == mesos.REASON_RECONCILIATION
		})
		if len(st.GetUUID()) != 0 {
			t.Fatalf("reconciliation answer with a uuid: %+v", st)
		}
	}
	reconcile()

	// A master restart ends the stream; the framework re-subscribes with
	// its id and is the same framework, with its task.
	master.stop(t)
	select {
	case <-f.ended:
	case <-time.After(30 * time.Second):
		t.Fatal("the stream did not end with the master")
	}
	c.startMaster(addr, "--data-dir", dataDir)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		info.ID = &mesos.FrameworkID{Value: f.id}
		resp, err := f.caller.Call(ctx, calls.Subscribe(info).With(calls.SubscribeTo(f.id)))
		cancel()
		if err == nil {
			resp.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("re-subscribing after the restart: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	f.subscribe(info)
	var fws []json.RawMessage
	if err := c.get("/api/v1/frameworks", &fws); err != nil || len(fws) != 1 {
		t.Fatalf("frameworks after re-subscribing: %d (%v), want the one", len(fws), err)
	}
	reconcile()

	f.call(calls.Kill(task.TaskID.Value, offer.AgentID.Value))
	f.waitState(task.TaskID.Value, mesos.TASK_KILLED)

	f.call(&scheduler.Call{Type: scheduler.Call_TEARDOWN})
	select {
	case <-f.ended:
	case <-time.After(30 * time.Second):
		t.Fatal("the stream did not end at TEARDOWN")
	}
	if err := c.get("/api/v1/frameworks", &fws); err != nil || len(fws) != 0 {
		t.Fatalf("frameworks after TEARDOWN: %d (%v), want none", len(fws), err)
	}
}

func resource(name string, v float64, alloc *mesos.Resource_AllocationInfo) mesos.Resource {
	return mesos.Resource{Name: name, Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: v}, AllocationInfo: alloc}
}
