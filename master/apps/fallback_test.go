package apps

import (
	"testing"

	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/master/framework"
)

// A revocable app with DedicatedFallback prefers harvested capacity, runs
// on dedicated capacity when no harvest fits it, and each task is launched
// into the pool it was placed on; without the fallback it waits.
func TestDedicatedFallback(t *testing.T) {
	noHarvest := func(id, host string) framework.Offer {
		o := offerOn(id, host)
		o.Revocable = resources.Resources{}
		return o
	}
	for _, tc := range []struct {
		name          string
		fallback      bool
		offer         framework.Offer
		wantLaunch    bool
		wantRevocable bool
	}{
		{"harvest fits", true, offerOn("o", "h1"), true, true},
		{"no harvest, fallback", true, noHarvest("o", "h1"), true, false},
		{"no harvest, no fallback", false, noHarvest("o", "h1"), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewScheduler(Config{})
			mustCreate(t, s, testApp("web", 1, func(a *App) { a.DedicatedFallback = tc.fallback }), at(0))
			ls, _ := s.Offers([]framework.Offer{tc.offer}, at(1))
			if got := len(ls) == 1; got != tc.wantLaunch {
				t.Fatalf("launches %v, want a launch: %v", launchIDs(ls), tc.wantLaunch)
			}
			if !tc.wantLaunch {
				if st := appStatus(t, s, "web"); st.Waiting != 1 || st.Reason == "" {
					t.Errorf("waiting %d, reason %q: want the one instance waiting, and why", st.Waiting, st.Reason)
				}
				return
			}
			l := ls[0]
			if l.Revocable != tc.wantRevocable || l.Task.Revocable != tc.wantRevocable {
				t.Errorf("launch revocable %v, task info revocable %v, want %v", l.Revocable, l.Task.Revocable, tc.wantRevocable)
			}
			var task Task
			for _, tk := range s.Tasks("web") {
				task = tk
			}
			if task.Revocable != tc.wantRevocable {
				t.Errorf("task %s revocable %v, want %v", task.ID, task.Revocable, tc.wantRevocable)
			}
		})
	}
}
