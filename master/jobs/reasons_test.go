package jobs

import (
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"

	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/master/framework"
)

func activeReason(t *testing.T, h *harness, jobID string) Run {
	t.Helper()
	active, _ := h.runs(jobID)
	if len(active) != 1 {
		t.Fatalf("active runs: %d, want 1", len(active))
	}
	return active[0]
}

func TestRunReasonNoHarvest(t *testing.T) {
	h := newHarness(t, "2030-01-01T00:00:00Z")
	h.mustPut(job("report", "", ""))
	if _, err := h.s.StartRun("report", h.now); err != nil {
		t.Fatal(err)
	}
	h.save()
	free := []framework.Offer{{AgentID: "a1", Hostname: "h1", Dedicated: resources.Resources{CPUs: 0.5, MemBytes: 1 << 30}}}
	h.s.NoOffers(func() []framework.Offer { return free }, h.now)
	if r := activeReason(t, h, "report"); r.Reason != framework.ReasonNoRevocable || !r.ReasonSince.Equal(h.now) {
		t.Fatalf("reason %q since %v, want %q since %v", r.Reason, r.ReasonSince, framework.ReasonNoRevocable, h.now)
	}
}

func TestRunReasonShortOfCPU(t *testing.T) {
	h := newHarness(t, "2030-01-01T00:00:00Z")
	j := job("report", "", "")
	j.Run.CPUs = 2
	h.mustPut(j)
	if _, err := h.s.StartRun("report", h.now); err != nil {
		t.Fatal(err)
	}
	h.save()
	offer := framework.Offer{ID: "o1", AgentID: "a1", Hostname: "h1", Revocable: resources.Resources{CPUs: 0.5, MemBytes: 1 << 30}}
	if ls, dec := h.s.Offers([]framework.Offer{offer}, h.now); len(ls) != 0 || len(dec) != 1 {
		t.Fatalf("launches %d declines %d, want 0 and 1", len(ls), len(dec))
	}
	want := "no offer fits: short of 1.5 CPU (largest free 0.5 on agent a1)"
	if r := activeReason(t, h, "report"); r.Reason != want {
		t.Fatalf("reason %q, want %q", r.Reason, want)
	}
}

func TestRunReasonStateNotStored(t *testing.T) {
	h := newHarness(t, "2030-01-01T00:00:00Z")
	h.mustPut(job("report", "", ""))
	r, err := h.s.StartRun("report", h.now)
	if err != nil {
		t.Fatal(err)
	}
	if r.Reason != framework.ReasonNextCycle || r.Status != StatusActive {
		t.Fatalf("new run: status %s reason %q, want ACTIVE and %q", r.Status, r.Reason, framework.ReasonNextCycle)
	}
	h.s.NoOffers(func() []framework.Offer { return nil }, h.now)
	want := "waiting for its state to be stored"
	if r := activeReason(t, h, "report"); r.Reason != want {
		t.Fatalf("reason %q, want %q", r.Reason, want)
	}
}

func TestRunReasonBackoff(t *testing.T) {
	h := newHarness(t, "2030-01-01T00:00:00Z")
	j := job("report", "", "")
	j.Run.MaxRetries = 3
	h.mustPut(j)
	if _, err := h.s.StartRun("report", h.now); err != nil {
		t.Fatal(err)
	}
	h.advance(2 * time.Second)
	ids := h.launchesOf("report")
	if len(ids) != 1 {
		t.Fatalf("launches %v, want 1", ids)
	}
	h.report(ids[0], api.TaskFailed)
	h.s.NoOffers(func() []framework.Offer { return nil }, h.now)
	r := activeReason(t, h, "report")
	if !strings.HasPrefix(r.Reason, "backoff until ") || !strings.Contains(r.Reason, "after 1 failures: task "+ids[0]+" "+string(api.TaskFailed)+": exit 1") {
		t.Fatalf("reason %q, want a backoff after the failure of %s", r.Reason, ids[0])
	}
	// A running run has no reason.
	h.advance(60 * time.Second)
	if active, _ := h.runs("report"); len(active) == 1 && active[0].StartedAt.IsZero() {
		t.Fatalf("run not started after its backoff: %+v", active[0])
	} else if len(active) == 1 && active[0].Reason != "" {
		t.Fatalf("running run has reason %q", active[0].Reason)
	}
}

// TestRunReasonRestored: after a failover, a run whose task no agent has
// re-reported yet waits for it, and says so.
func TestRunReasonRestored(t *testing.T) {
	h := newHarness(t, "2030-01-01T00:00:00Z")
	h.mustPut(job("report", "", ""))
	if _, err := h.s.StartRun("report", h.now); err != nil {
		t.Fatal(err)
	}
	h.advance(2 * time.Second)
	if n := len(h.launchesOf("report")); n != 1 {
		t.Fatalf("launches %d, want 1", n)
	}
	h.restart()
	h.s.Hold("held", h.now)
	if r := activeReason(t, h, "report"); r.Reason != reasonRestored {
		t.Fatalf("reason %q, want %q", r.Reason, reasonRestored)
	}
}
