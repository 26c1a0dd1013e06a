package master

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/internal/testutil"
	"github.com/headroom-dev/headroom/master/framework"
)

// oneTaskID is the id of oneTask, a third built-in framework.
const oneTaskID = "test-one-task"

// oneTask is the smallest built-in framework: it launches one task per
// offer until it has one live, and once told to stop kills it and wants
// nothing more. The master calls it with its lock held; the test reads it
// through its own lock.
type oneTask struct {
	mu      sync.Mutex
	seq     int
	states  map[string]api.TaskState
	stop    bool
	killed  map[string]bool
	started int // terms begun
}

var oneTaskTask = resources.Resources{CPUs: 0.25, MemBytes: 32 << 20}

func (f *oneTask) start(context.Context) (framework.Framework, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started++
	return f, nil
}

func (f *oneTask) ID() string { return oneTaskID }

// liveLocked counts the tasks launched and not ended.
func (f *oneTask) liveLocked() int {
	n := 0
	for _, st := range f.states {
		if !st.IsTerminal() {
			n++
		}
	}
	return n
}

func (f *oneTask) WantsOffers() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.stop && f.liveLocked() == 0
}

func (f *oneTask) Offers(offers []framework.Offer, _ time.Time) ([]framework.Launch, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var launches []framework.Launch
	var declines []string
	for _, o := range offers {
		revocable := o.Revocable.Contains(oneTaskTask)
		if f.stop || f.liveLocked() > 0 || !revocable && !o.Dedicated.Contains(oneTaskTask) {
			declines = append(declines, o.ID)
			continue
		}
		f.seq++
		id := fmt.Sprintf("one.%d", f.seq)
		f.states[id] = api.TaskStaging
		launches = append(launches, framework.Launch{OfferID: o.ID, AgentID: o.AgentID, Hostname: o.Hostname, Revocable: revocable,
			Task: api.TaskInfo{ID: id, FrameworkID: oneTaskID, Name: "one", Cmd: "sleep 1000", Resources: oneTaskTask, Revocable: revocable}})
	}
	return launches, declines
}

func (f *oneTask) NoOffers(func() []framework.Offer, time.Time) {}

func (f *oneTask) Update(st api.TaskStatus, _ string, _ map[string]string, _ time.Time) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.states[st.TaskID]; !ok {
		// Not launched by this term's framework: no adoption here.
		if !st.State.IsTerminal() {
			return []string{st.TaskID}
		}
		return nil
	}
	f.states[st.TaskID] = st.State
	return nil
}

func (f *oneTask) Tick(time.Time) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.stop {
		return nil
	}
	var kills []string
	for id, st := range f.states {
		if !st.IsTerminal() && !f.killed[id] {
			f.killed[id] = true
			kills = append(kills, id)
		}
	}
	return kills
}

func (f *oneTask) Hold(string, time.Time) {}

func (f *oneTask) ForgetAgent(string) {}

// snapshot returns the task states the framework was told of.
func (f *oneTask) snapshot() map[string]api.TaskState {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]api.TaskState, len(f.states))
	for id, st := range f.states {
		out[id] = st
	}
	return out
}

// TestThirdBuiltinFramework registers a third built-in framework through
// Config.Frameworks and runs a task through it against a real master and
// a simulated agent: its offers, its launch, its task's updates, the kill
// its Tick asks for, and the refusal of its id to external frameworks all
// go through the registry.
func TestThirdBuiltinFramework(t *testing.T) {
	f := &oneTask{states: map[string]api.TaskState{}, killed: map[string]bool{}}
	tm := startMaster(t, openEmbeddedStore(t), func(c *Config) {
		c.Frameworks = []framework.Builtin{{ID: oneTaskID, Name: "one-task", New: f.start}}
	})
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, tm.m.Leading, "the master never became leader")
	a := startSimAgent(t, tm.url, "h-one", resources.Resources{CPUs: 2, MemBytes: 2 * gib}, nil, 0, 100*time.Millisecond)

	running := func() bool {
		for _, st := range f.snapshot() {
			if st == api.TaskRunning {
				return true
			}
		}
		return false
	}
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, running, "the framework never saw its task running")
	launched := a.Launched()
	if len(launched) != 1 || launched[0].FrameworkID != oneTaskID || launched[0].Resources != oneTaskTask {
		t.Fatalf("the agent got %+v, want one task of %s with %v", launched, oneTaskID, oneTaskTask)
	}
	id := launched[0].ID
	views, err := tm.m.Tasks()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, v := range views {
		if v.ID == id {
			found = true
			if v.FrameworkID != oneTaskID || v.State != api.TaskRunning || v.Hostname != "h-one" {
				t.Errorf("the master's view of %s: %+v", id, v)
			}
		}
	}
	if !found {
		t.Errorf("the master does not list task %s: %+v", id, views)
	}

	// Its id is the master's own: no external framework may take it.
	code, body := postCall(t, tm.url, "", fmt.Sprintf(`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"q","roles":["batch"],"id":{"value":%q}}}}`, oneTaskID))
	if code != http.StatusForbidden || !strings.Contains(string(body), "the master's own one-task framework") {
		t.Errorf("subscribing as %s: %d %s, want 403 naming the one-task framework", oneTaskID, code, body)
	}

	// Its Tick asks for the kill; the update comes back to it.
	f.mu.Lock()
	f.stop = true
	f.mu.Unlock()
	ended := func() bool { return f.snapshot()[id] == api.TaskKilled }
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, ended, "the framework never saw its task killed")
	if st := a.State(id); st != api.TaskKilled {
		t.Errorf("the agent's task %s is %s, want %s", id, st, api.TaskKilled)
	}
	if n := len(a.Launched()); n != 1 {
		t.Errorf("the agent got %d launches, want 1", n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.started != 1 {
		t.Errorf("the framework was started %d times, want once for the one term", f.started)
	}
}
