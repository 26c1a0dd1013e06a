package agent

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/internal/testutil"
	"github.com/headroom-dev/headroom/monitor/estimate"
)

func TestHostMemCap(t *testing.T) {
	for _, tc := range []struct {
		total, business, reserve uint64
		want                     int64
		ok                       bool
	}{
		{0, 0, 0, 0, false},
		{24 << 30, 10 << 30, 1 << 30, 13 << 30, true},
		{1 << 30, 1 << 30, 512 << 20, MemoryFloor, true},
		{1 << 30, math.MaxUint64, math.MaxUint64, MemoryFloor, true},
	} {
		got, ok := HostMemCap(tc.total, tc.business, tc.reserve)
		if got != tc.want || ok != tc.ok {
			t.Errorf("HostMemCap(%d, %d, %d) = %d, %v; want %d, %v", tc.total, tc.business, tc.reserve, got, ok, tc.want, tc.ok)
		}
	}
}

// smallHost reports a host of 1 GiB whose business uses 300 MiB.
type smallHost struct{}

func (smallHost) Sample(now time.Time) (estimate.Sample, error) {
	return estimate.Sample{Time: now, OnlineCPUs: 2, MemTotal: 1 << 30, MemAvailable: 700 << 20, BusinessMem: 300 << 20}, nil
}

func (s smallHost) SampleFast(now time.Time) (estimate.Sample, error) {
	sm, err := s.Sample(now)
	sm.Fast = true
	return sm, err
}

// An operator's fixed reservation of 2 GiB on a 1 GiB host does not reach
// the kernel: the batch cgroup's limit, read back, is what the host can
// give (1 GiB − 300 MiB business − 512 MiB reserve).
func TestBatchMemoryLimitNeverExceedsTheHost(t *testing.T) {
	ta := startAgent(t, func(c *Config) {
		c.Monitor.Sampler = smallHost{}
		c.Monitor.Policy.Reserve.Memory = 512 << 20
	})
	testutil.Eventually(t, 30*time.Second, 20*time.Millisecond, func() bool {
		return ta.Monitor().Snapshot().Sample.MemTotal != 0
	}, "a first full sample")
	openHarvest(t, ta)
	want := uint64(1<<30 - 300<<20 - 512<<20)
	st, err := ta.batch.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.MemoryLimit != want {
		t.Fatalf("batch memory limit %d, want the host's %d", st.MemoryLimit, want)
	}
	if ap := ta.State().Applied; ap.MemLimit != int64(want) || ap.EvictAbove > int64(want) {
		t.Errorf("applied %+v, want the limit and the eviction threshold capped at %d", ap, want)
	}
}

// An eviction kills a task that ignores SIGTERM after the agent's short
// grace, not the hour the task asked for.
func TestEvictionUsesTheShortGrace(t *testing.T) {
	ta := startAgent(t, func(c *Config) { c.EvictionGrace = 500 * time.Millisecond })
	openHarvest(t, ta)
	info := api.TaskInfo{ID: "stubborn", Cmd: `trap "" TERM; while :; do sleep 1; done`, Revocable: true,
		KillGracePeriodSeconds: 3600, Resources: resources.Resources{CPUs: 0.1, MemBytes: 16 << 20}}
	if err := ta.exec.Launch(info); err != nil {
		t.Fatal(err)
	}
	waitTask(t, ta.Agent, "stubborn", 30*time.Second, isState(api.TaskRunning), "running")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ta.evictFor(ctx, evictOrder{count: 1, reason: EvictCPUStarvation})
	}()
	t.Cleanup(wg.Wait)
	st := waitTask(t, ta.Agent, "stubborn", 30*time.Second, func(s api.TaskStatus) bool { return s.State.IsTerminal() }, "evicted")
	if st.State != api.TaskPreempted {
		t.Fatalf("status %+v, want preempted", st)
	}
	if _, err := ta.h.Load(fmt.Sprintf("%s/batch/stubborn", ta.parent)); err == nil {
		t.Error("the evicted task's cgroup is still there")
	}
}
