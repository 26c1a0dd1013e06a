package term

import (
	"context"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/master/core"
	"github.com/headroom-dev/headroom/master/framework"
)

// declining is a built-in framework that always wants offers and declines
// them all, counting them.
type declining struct {
	id     string
	offers int
}

func (f *declining) ID() string        { return f.id }
func (f *declining) WantsOffers() bool { return true }
func (f *declining) Offers(offers []framework.Offer, _ time.Time) ([]framework.Launch, []string) {
	f.offers += len(offers)
	var ids []string
	for _, o := range offers {
		ids = append(ids, o.ID)
	}
	return nil, ids
}
func (f *declining) NoOffers(func() []framework.Offer, time.Time) {}
func (f *declining) Update(api.TaskStatus, string, map[string]string, time.Time) []string {
	return nil
}
func (f *declining) Tick(time.Time) []string { return nil }
func (f *declining) Hold(string, time.Time)  {}
func (f *declining) ForgetAgent(string)      {}

// TestReviveAfterTick: a built-in framework is revived in the cycle that
// finds it wanting offers, and gets them in that cycle; one registered to
// revive after its Tick (as the jobs framework) gets them from the next
// cycle, and what the first declines goes on to it.
func TestReviveAfterTick(t *testing.T) {
	early, late := &declining{id: "test-early"}, &declining{id: "test-late"}
	m, clock := loopMasterWith(t, func(time.Time) core.Restore { return core.Restore{} },
		framework.Builtin{ID: early.id, New: func(context.Context) (framework.Framework, error) { return early, nil }},
		framework.Builtin{ID: late.id, ReviveAfterTick: true, New: func(context.Context) (framework.Framework, error) { return late, nil }})
	pool := resources.Resources{CPUs: 1, MemBytes: 4 * gib}
	addLoopAgent(t, m, "a1", pool)
	tick := func() {
		clock.Advance(time.Second)
		beat(t, m, "a1", pool)
		m.cycle()
	}
	tick()
	if early.offers == 0 || late.offers != 0 {
		t.Fatalf("first cycle: offers early %d, late %d; want some to the early one, none to the late one", early.offers, late.offers)
	}
	tick()
	if late.offers == 0 {
		t.Fatalf("second cycle: no offer to the framework revived after the first cycle's Tick")
	}
}
