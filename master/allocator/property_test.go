package allocator

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/internal/resources"
)

// randomRun drives an allocator through steps random operations drawn from
// seed, checks the invariants after each, and returns a transcript of what
// the allocator answered.
func randomRun(t *testing.T, seed uint64, steps int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	a, err := New(Config{OfferTimeout: 20 * time.Second, DefaultRefuse: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	now := epoch()

	randRes := func(maxCPU int) resources.Resources {
		return resources.Resources{
			CPUs:     float64(rng.IntN(maxCPU*10+1)) / 10,
			MemBytes: int64(rng.IntN(maxCPU*4+1)) << 28,
		}
	}
	agentID := func() string { return fmt.Sprintf("a%d", rng.IntN(12)) }
	fwID := func() string { return fmt.Sprintf("f%d", rng.IntN(8)) }
	// pickOffer returns a random outstanding offer, or "" when there is none.
	pickOffer := func() string {
		offers := a.Offers()
		if len(offers) == 0 {
			return ""
		}
		return offers[rng.IntN(len(offers))].ID
	}
	part := func(r resources.Resources) resources.Resources {
		f := float64(rng.IntN(5)) / 4
		return resources.Resources{CPUs: r.CPUs * f, MemBytes: int64(float64(r.MemBytes) * f)}
	}

	for step := 0; step < steps; step++ {
		var op string
		var err error
		var rescinds []Rescind
		switch k := rng.IntN(100); {
		case k < 10:
			op = "add-agent"
			err = a.AddAgent(Agent{ID: agentID(), Revocable: randRes(16), Dedicated: randRes(4)})
		case k < 22:
			op = "update-agent"
			rescinds, err = a.UpdateAgent(agentID(), randRes(16), randRes(4))
		case k < 24:
			op = "remove-agent"
			rescinds, err = a.RemoveAgent(agentID())
		case k < 30:
			op = "add-framework"
			err = a.AddFramework(Framework{
				ID:        fwID(),
				Role:      fmt.Sprintf("r%d", rng.IntN(3)),
				Weight:    float64(rng.IntN(3)),
				Revocable: rng.IntN(2) == 0,
			})
		case k < 32:
			op = "remove-framework"
			rescinds, err = a.RemoveFramework(fwID())
		case k < 35:
			op = "set-role"
			var q Quota
			if rng.IntN(2) == 0 {
				q.Guarantee = randRes(8)
			}
			if rng.IntN(2) == 0 {
				q.Limit = q.Guarantee.Add(randRes(16))
			}
			err = a.SetRole(fmt.Sprintf("r%d", rng.IntN(3)), float64(rng.IntN(4)), q)
		case k < 38:
			op = "suppress"
			err = a.Suppress(fwID())
		case k < 42:
			op = "revive"
			err = a.Revive(fwID())
		case k < 62:
			op = "allocate"
			now = now.Add(time.Duration(rng.IntN(8)) * time.Second)
			before := a.book.live
			res := a.Allocate(now)
			rescinds = res.Rescinds
			for _, o := range res.Offers {
				fmt.Fprintf(&log, "offer %s %s@%s %v\n", o.ID, o.FrameworkID, o.AgentID, o.Resources)
				if err := checkNewOffer(a, o, now); err != nil {
					t.Fatalf("seed %d step %d: %v", seed, step, err)
				}
			}
			if got := before - len(res.Rescinds) + len(res.Offers); got != a.book.live {
				t.Fatalf("seed %d step %d: %d offers before, -%d +%d, %d after", seed, step, before, len(res.Rescinds), len(res.Offers), a.book.live)
			}
		case k < 75:
			op = "accept"
			if id := pickOffer(); id != "" {
				o, _ := a.Offer(id)
				var used ByPool
				for p := range used {
					used[p] = part(o.Resources[p])
				}
				refuse := RefuseDefault
				if rng.IntN(2) == 0 {
					refuse = time.Duration(rng.IntN(10)) * time.Second
				}
				_, err = a.Accept(id, used, refuse, now)
			}
		case k < 85:
			op = "decline"
			if id := pickOffer(); id != "" {
				err = a.Decline(id, time.Duration(rng.IntN(10))*time.Second, now)
			}
		case k < 95:
			op = "recover"
			ag := a.agents[agentID()]
			if ag != nil && len(ag.usedBy) > 0 {
				fws := make([]string, 0, len(ag.usedBy))
				for fw := range ag.usedBy {
					fws = append(fws, fw)
				}
				slices.Sort(fws)
				fw := fws[rng.IntN(len(fws))]
				p := Pool(rng.IntN(NumPools))
				err = a.RecoverResources(ag.ID, fw, p, part(ag.usedBy[fw][p]))
			}
		default:
			op = "add-used"
			rescinds, err = a.AddUsed(agentID(), fwID(), Pool(rng.IntN(NumPools)), randRes(2))
		}
		fmt.Fprintf(&log, "%d %s err=%v\n", step, op, err)
		for _, r := range rescinds {
			fmt.Fprintf(&log, "rescind %s %s\n", r.OfferID, r.Reason)
			if _, ok := a.lookup(r.OfferID); ok {
				t.Fatalf("seed %d step %d: rescinded offer %s still outstanding", seed, step, r.OfferID)
			}
		}
		if err := checkInvariants(a); err != nil {
			t.Fatalf("seed %d step %d (%s): %v", seed, step, op, err)
		}
	}
	return log.String()
}

// checkNewOffer verifies what holds for an offer at the moment it is made.
func checkNewOffer(a *Allocator, o Offer, now time.Time) error {
	f := a.frameworks[o.FrameworkID]
	switch {
	case f == nil:
		return fmt.Errorf("offer %s to unregistered framework %q", o.ID, o.FrameworkID)
	case f.Suppressed:
		return fmt.Errorf("offer %s to suppressed framework %q", o.ID, o.FrameworkID)
	case !withinLimit(f.role):
		return fmt.Errorf("offer %s takes role %q to %v, over its limit %v", o.ID, f.role.name, f.role.allocated.Sum(), f.role.quota.Limit)
	case !o.Expires.Equal(now.Add(a.cfg.OfferTimeout)):
		return fmt.Errorf("offer %s expires at %v, want %v", o.ID, o.Expires, now.Add(a.cfg.OfferTimeout))
	}
	if until, ok := f.filters[o.AgentID]; ok && now.Before(until) {
		return fmt.Errorf("offer %s to framework %q filtered on agent %q until %v", o.ID, o.FrameworkID, o.AgentID, until)
	}
	return nil
}

func TestRandomOperationsKeepInvariants(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			randomRun(t, seed, 600)
		})
	}
}

// The same operations give the same answers: nothing depends on map order.
func TestDeterministic(t *testing.T) {
	for _, seed := range []uint64{3, 17, 29} {
		first := randomRun(t, seed, 800)
		for range 3 {
			if again := randomRun(t, seed, 800); again != first {
				t.Fatalf("seed %d: two runs of the same operations differ", seed)
			}
		}
		if !strings.Contains(first, "offer ") {
			t.Fatalf("seed %d: the run made no offer, the comparison proves nothing", seed)
		}
	}
}
