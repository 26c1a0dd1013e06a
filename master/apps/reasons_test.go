package apps

import (
	"testing"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/master/framework"
)

func cpus(c float64, memMiB int64) resources.Resources {
	return resources.Resources{CPUs: c, MemBytes: memMiB << 20, Disk: 1 << 30}
}

// fixed is a free-capacity view that always has the same agents.
func fixed(os ...framework.Offer) func() []framework.Offer {
	return func() []framework.Offer { return os }
}

func capOn(agent string, revocable, dedicated resources.Resources) framework.Offer {
	return framework.Offer{ID: "o-" + agent, AgentID: agent, Hostname: "host-" + agent, Revocable: revocable, Dedicated: dedicated}
}

// reasonAfter runs one cycle's worth of offers (or, with none, the free
// view) and returns the app's reason.
func reasonAfter(t *testing.T, a App, offers, free []framework.Offer) AppStatus {
	t.Helper()
	s := NewScheduler(Config{})
	mustCreate(t, s, a, at(0))
	if len(offers) > 0 {
		s.Offers(offers, at(1))
	} else {
		s.NoOffers(fixed(free...), at(1))
	}
	return appStatus(t, s, a.ID)
}

func TestReasonNoAgents(t *testing.T) {
	st := reasonAfter(t, testApp("a", 1), nil, nil)
	if st.Reason != ReasonNoAgents || !st.ReasonSince.Equal(at(1)) {
		t.Fatalf("reason %q since %v, want %q since %v", st.Reason, st.ReasonSince, ReasonNoAgents, at(1))
	}
}

func TestReasonNoHarvest(t *testing.T) {
	free := []framework.Offer{capOn("a1", resources.Resources{}, cpus(0.5, 512))}
	st := reasonAfter(t, testApp("a", 1), nil, free)
	if st.Reason != ReasonNoRevocable {
		t.Fatalf("reason %q, want %q", st.Reason, ReasonNoRevocable)
	}
}

func TestReasonNoDedicated(t *testing.T) {
	free := []framework.Offer{capOn("a1", cpus(4, 4096), resources.Resources{})}
	st := reasonAfter(t, testApp("a", 1, func(a *App) { a.Revocable = false }), nil, free)
	if st.Reason != ReasonNoDedicated {
		t.Fatalf("reason %q, want %q", st.Reason, ReasonNoDedicated)
	}
}

func TestReasonShortOfCPU(t *testing.T) {
	offers := []framework.Offer{capOn("a1", resources.Resources{}, cpus(0.5, 4096))}
	st := reasonAfter(t, testApp("a", 1, func(a *App) { a.Revocable = false; a.CPUs = 2 }), offers, nil)
	want := "no offer fits: short of 1.5 CPU (largest free 0.5 on agent a1)"
	if st.Reason != want {
		t.Fatalf("reason %q, want %q", st.Reason, want)
	}
}

func TestReasonShortOfMemory(t *testing.T) {
	offers := []framework.Offer{capOn("a1", cpus(4, 128), resources.Resources{}), capOn("a2", cpus(4, 192), resources.Resources{})}
	st := reasonAfter(t, testApp("a", 1), offers, nil)
	want := "no offer fits: short of 64 MiB memory (largest free 192 MiB on agent a2)"
	if st.Reason != want {
		t.Fatalf("reason %q, want %q", st.Reason, want)
	}
}

func TestReasonUniqueConstraint(t *testing.T) {
	s := NewScheduler(Config{})
	a := testApp("a", 2, func(a *App) { a.Constraints = [][]string{{"hostname", framework.OpUnique}} })
	mustCreate(t, s, a, at(0))
	ls, _ := s.Offers([]framework.Offer{offerOn("o1", "h1")}, at(1))
	if len(ls) != 1 {
		t.Fatalf("launched %d, want 1", len(ls))
	}
	want := "constraint UNIQUE hostname: 1 host, 2 instances"
	if st := appStatus(t, s, "a"); st.Reason != want || st.Waiting != 1 {
		t.Fatalf("reason %q waiting %d, want %q and 1", st.Reason, st.Waiting, want)
	}
	// The next cycle brings no offer: the free view gives the same cause,
	// and its since stays the first time it was seen.
	s.NoOffers(fixed(offerOn("", "h1")), at(2))
	if st := appStatus(t, s, "a"); st.Reason != want || !st.ReasonSince.Equal(at(1)) {
		t.Fatalf("reason %q since %v, want %q since %v", st.Reason, st.ReasonSince, want, at(1))
	}
}

func TestReasonBackoffAndFetchFailure(t *testing.T) {
	s := NewScheduler(Config{})
	mustCreate(t, s, testApp("a", 1, func(a *App) { a.BackoffSeconds = 10 }), at(0))
	ls, _ := s.Offers([]framework.Offer{offerOn("o1", "h1")}, at(1))
	if len(ls) != 1 {
		t.Fatalf("launched %d, want 1", len(ls))
	}
	s.Update(api.TaskStatus{TaskID: ls[0].Task.ID, State: api.TaskFailed, Reason: api.ReasonFetchFailed,
		Message: "GET http://127.0.0.1:1/x.tgz: connection refused"}, "h1", nil, at(2))
	s.NoOffers(fixed(offerOn("", "h1")), at(3))
	want := "backoff until 2030-01-01T00:00:12Z after 1 failures: last fetch failed: GET http://127.0.0.1:1/x.tgz: connection refused"
	if st := appStatus(t, s, "a"); st.Reason != want {
		t.Fatalf("reason %q, want %q", st.Reason, want)
	}
}

func TestReasonClearedOnceRunning(t *testing.T) {
	s := NewScheduler(Config{})
	mustCreate(t, s, testApp("a", 1), at(0))
	s.NoOffers(fixed(), at(1))
	ls, _ := s.Offers([]framework.Offer{offerOn("o1", "h1")}, at(2))
	runAll(t, s, ls, at(3))
	if st := appStatus(t, s, "a"); st.Reason != "" || !st.ReasonSince.IsZero() {
		t.Fatalf("reason %q since %v, want none", st.Reason, st.ReasonSince)
	}
}

// TestNoOffersSkipsTheViewWhenNothingWaits: the free-capacity view costs
// a walk over every agent, and is not taken when no app waits for one.
func TestNoOffersSkipsTheViewWhenNothingWaits(t *testing.T) {
	s := NewScheduler(Config{})
	mustCreate(t, s, testApp("a", 0), at(0))
	calls := 0
	s.NoOffers(func() []framework.Offer { calls++; return nil }, at(1))
	if calls != 0 {
		t.Fatalf("view taken %d times, want 0", calls)
	}
	mustCreate(t, s, testApp("b", 1), at(1))
	mustCreate(t, s, testApp("c", 1), at(1))
	s.NoOffers(func() []framework.Offer { calls++; return nil }, at(2))
	if calls != 1 {
		t.Fatalf("view taken %d times for two waiting apps, want 1", calls)
	}
}
