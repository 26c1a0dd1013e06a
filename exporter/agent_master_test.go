package exporter

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/headroom-dev/headroom/agent"
	"github.com/headroom-dev/headroom/agent/executor"
	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/cgroup"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/master"
	"github.com/headroom-dev/headroom/master/allocator"
)

type fakeAgent struct {
	st agent.State
}

func (f fakeAgent) State() agent.State { return f.st }
func (f fakeAgent) BatchStats() (cgroup.Stats, error) {
	return cgroup.Stats{CPUThrottled: 3 * time.Second, CPUThrottledPeriods: 30, CPUPeriods: 100, OOMKills: 1}, nil
}

func agentState(apps int) agent.State {
	st := agent.State{
		Applied:   agent.Applied{CPUs: 3, MemBytes: 4 << 30, CPUQuota: 3, MemLimit: 5 << 30, EvictAbove: 4 << 30},
		Override:  &agent.Override{Mode: agent.OverrideCap, CPUs: 3},
		Evictions: map[string]uint64{agent.EvictMemoryRequest: 2},
		Master:    agent.MasterState{Registered: true, HeartbeatFailures: 4, PendingUpdates: 1},
	}
	for i := range apps {
		st.Tasks = append(st.Tasks, executor.TaskView{
			Info: api.TaskInfo{ID: fmt.Sprintf("t%d", i), Labels: map[string]string{"app": fmt.Sprintf("app-%03d", i)},
				Resources: resources.Resources{CPUs: 0.5, MemBytes: 1 << 20}},
			Status:   api.TaskStatus{State: api.TaskRunning},
			MemBytes: uint64(1000 + i),
		})
	}
	st.Tasks = append(st.Tasks, executor.TaskView{Info: api.TaskInfo{ID: "done"}, Status: api.TaskStatus{State: api.TaskFinished}})
	return st
}

func TestAgentCollector(t *testing.T) {
	c := NewAgentCollector(fakeAgent{agentState(3)}, nil)
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	want := `
# HELP headroom_batch_cpu_quota_cores CFS quota applied to the batch parent cgroup, in cores (never below the floor).
# TYPE headroom_batch_cpu_quota_cores gauge
headroom_batch_cpu_quota_cores 3
# HELP headroom_agent_tasks Tasks known to the agent, by state.
# TYPE headroom_agent_tasks gauge
headroom_agent_tasks{state="TASK_FAILED"} 0
headroom_agent_tasks{state="TASK_FINISHED"} 1
headroom_agent_tasks{state="TASK_KILLED"} 0
headroom_agent_tasks{state="TASK_LOST"} 0
headroom_agent_tasks{state="TASK_PREEMPTED"} 0
headroom_agent_tasks{state="TASK_RUNNING"} 3
headroom_agent_tasks{state="TASK_STAGING"} 0
headroom_agent_tasks{state="TASK_STARTING"} 0
# HELP headroom_batch_cpu_throttled_periods_total CFS periods in which the batch cgroup was throttled.
# TYPE headroom_batch_cpu_throttled_periods_total counter
headroom_batch_cpu_throttled_periods_total 30
# HELP headroom_evictions_total Tasks evicted to give memory back to the business, by reason.
# TYPE headroom_evictions_total counter
headroom_evictions_total{reason="cpu_starvation"} 0
headroom_evictions_total{reason="memory_request"} 2
headroom_evictions_total{reason="over_harvest"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "headroom_batch_cpu_quota_cores", "headroom_agent_tasks",
		"headroom_batch_cpu_throttled_periods_total", "headroom_evictions_total"); err != nil {
		t.Fatal(err)
	}
}

// However many apps a host runs, the app label stays bounded.
func TestAgentCollectorBoundsApps(t *testing.T) {
	c := NewAgentCollector(fakeAgent{agentState(500)}, nil)
	if n := testutil.CollectAndCount(c, "headroom_task_memory_bytes"); n != maxApps {
		t.Fatalf("%d app series for 500 apps, want %d", n, maxApps)
	}
}

type fakeMaster struct {
	leading bool
}

func (f fakeMaster) Leading() bool { return f.leading }
func (f fakeMaster) Summary() (master.Summary, error) {
	return master.Summary{
		Agents: map[master.AgentState]int{master.AgentActive: 2},
		Tasks:  map[api.TaskState]int{api.TaskRunning: 5},
		Pools: map[string]master.PoolSummary{
			"revocable": {Total: resources.Resources{CPUs: 10, MemBytes: 20 << 30}, Used: resources.Resources{CPUs: 2}},
			"dedicated": {},
		},
		Shares:     []allocator.Share{{Role: "*", DominantShare: 0.2}, {Role: "*", Framework: "headroom-apps", DominantShare: 0.2}},
		Offers:     1,
		Counters:   map[string]uint64{"offers_sent": 7},
		Apps:       2,
		Frameworks: 3, FrameworksConnected: 2,
	}, nil
}

func TestMasterCollector(t *testing.T) {
	c := NewMasterCollector(fakeMaster{leading: true}, nil)
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	want := `
# HELP headroom_master_leader 1 while this master is the elected leader.
# TYPE headroom_master_leader gauge
headroom_master_leader 1
# HELP headroom_cluster_cpu_cores Cluster CPU by pool (revocable = harvested, dedicated) and kind (total, offered, used).
# TYPE headroom_cluster_cpu_cores gauge
headroom_cluster_cpu_cores{kind="offered",pool="dedicated"} 0
headroom_cluster_cpu_cores{kind="offered",pool="revocable"} 0
headroom_cluster_cpu_cores{kind="total",pool="dedicated"} 0
headroom_cluster_cpu_cores{kind="total",pool="revocable"} 10
headroom_cluster_cpu_cores{kind="used",pool="dedicated"} 0
headroom_cluster_cpu_cores{kind="used",pool="revocable"} 2
# HELP headroom_frameworks External frameworks registered with the leader, by whether their event stream is open (a disconnected one keeps its tasks until its failover timeout).
# TYPE headroom_frameworks gauge
headroom_frameworks{connected="false"} 1
headroom_frameworks{connected="true"} 2
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "headroom_master_leader", "headroom_cluster_cpu_cores", "headroom_frameworks"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(NewMasterCollector(fakeMaster{}, nil)); n != 1 {
		t.Fatalf("a standby exports %d series, want only headroom_master_leader", n)
	}
}

func TestMasterObserverLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	o, err := NewMasterObserver(reg)
	if err != nil {
		t.Fatal(err)
	}
	o.ObserveAllocation(3 * time.Millisecond)
	o.TaskLaunched("headroom-apps")
	o.TaskEnded("headroom-apps", "TASK_FAILED", "exited")
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
