package term

import (
	"context"
	"fmt"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/master/allocator"
	"github.com/headroom-dev/headroom/master/core"
	"github.com/headroom-dev/headroom/master/framework"
)

// registerBuiltins fills the registry: the apps and jobs frameworks, then
// the configured ones. The cycle serves them in this order.
func (t *Term) registerBuiltins() error {
	own := []framework.Builtin{
		{ID: AppsFrameworkID, Name: "apps", New: func(ctx context.Context) (framework.Framework, error) {
			return t.loadApps(ctx)
		}},
		// A run's task launches only once the state naming it is stored,
		// and that state goes to the store after the Tick that starts the
		// run: offers before it would only be declined.
		{ID: JobsFrameworkID, Name: "jobs", ReviveAfterTick: true, AfterTick: t.saveJobStates,
			New: func(ctx context.Context) (framework.Framework, error) { return t.loadJobs(ctx) }},
	}
	for _, b := range append(own, t.cfg.Frameworks...) {
		if err := t.builtins.Register(b); err != nil {
			return err
		}
	}
	return nil
}

// startBuiltins starts the registered frameworks for a new term and adds
// them to its allocator.
func (t *Term) startBuiltins(ctx context.Context, alloc *allocator.Allocator) (*framework.Running, error) {
	running, err := t.builtins.Start(ctx)
	if err != nil {
		return nil, err
	}
	for _, e := range running.Entries() {
		// Suppressed until the first cycle finds work waiting (each cycle
		// revives or suppresses it): an idle built-in framework must not
		// take a share of a term's first offers from the frameworks that
		// want them. Revocable: each task says which pool it uses.
		if err := alloc.AddFramework(allocator.Framework{ID: e.Builtin.ID, Revocable: true, Suppressed: true}); err != nil {
			return nil, fmt.Errorf("registering framework %s: %w", e.Builtin.ID, err)
		}
	}
	return running, nil
}

// answerOffers applies a built-in framework's answer to its offers: it
// accepts what the launches use, declines the rest and launches the
// tasks (core.AnswerOffers). It returns how many offers it declined.
// Called with mu held.
func (t *Term) answerOffers(frameworkID string, byID map[string]allocator.Offer, launches []framework.Launch, declines []string, now time.Time) int {
	ans := core.AnswerOffers{FrameworkID: frameworkID, Accept: map[string]allocator.ByPool{}, Decline: declines}
	for _, l := range launches {
		pool := allocator.Dedicated
		if l.Revocable {
			pool = allocator.Revocable
		}
		u := ans.Accept[l.OfferID]
		u[pool] = u[pool].Add(l.Task.Resources)
		ans.Accept[l.OfferID] = u
		ans.Launches = append(ans.Launches, core.Launch{Info: l.Task, AgentID: byID[l.OfferID].AgentID, Pool: pool})
	}
	r := t.core.Step(ans, now)
	t.fx.Apply(r.Effects)
	return r.Reply.(core.AnswerReply).Declined
}

// maxAllocationPasses bounds the allocations of one cycle. What a
// built-in framework declines goes on to the next framework in the same
// cycle: each decline filters the decliner on that agent, so a pass per
// built-in framework and one more lets the capacity reach a framework
// that can use it, instead of the same framework being offered, and
// declining, the same agent at every cycle while another waits.
func (t *Term) maxAllocationPasses() int { return len(t.running.Entries()) + 1 }

// reviveBuiltin revives a built-in framework's offers when it wants some
// and suppresses them when not. Called with mu held.
func (t *Term) reviveBuiltin(fw framework.Framework) {
	t.step(core.WantOffers{FrameworkID: fw.ID(), Wants: fw.WantsOffers()})
}

// answerBuiltin has the built-in frameworks answer an allocation pass's
// offers to them at once (external frameworks got theirs as OFFERS
// events in core.Allocate). It records in got which built-in frameworks
// had offers and returns how many offers they declined. Called with mu
// held.
func (t *Term) answerBuiltin(offers []allocator.Offer, got map[string]bool, now time.Time) int {
	byFramework := map[string][]allocator.Offer{}
	for _, o := range offers {
		byFramework[o.FrameworkID] = append(byFramework[o.FrameworkID], o)
	}
	declined := 0
	for _, e := range t.running.Entries() {
		mine := byFramework[e.Builtin.ID]
		if len(mine) == 0 {
			continue
		}
		got[e.Builtin.ID] = true
		byID := make(map[string]allocator.Offer, len(mine))
		offers := make([]framework.Offer, 0, len(mine))
		for _, o := range mine {
			byID[o.ID] = o
			offers = append(offers, t.builtinOffer(o))
		}
		launches, declines := e.Framework.Offers(offers, now)
		declined += t.answerOffers(e.Builtin.ID, byID, launches, declines, now)
	}
	return declined
}

// builtinOffer is an allocator offer as the built-in frameworks take it,
// with the agent's attributes. Called with mu held.
func (t *Term) builtinOffer(o allocator.Offer) framework.Offer {
	return framework.Offer{
		ID: o.ID, AgentID: o.AgentID, Hostname: o.Hostname, Attributes: t.core.AgentAttributes(o.AgentID),
		Revocable: o.Resources[allocator.Revocable], Dedicated: o.Resources[allocator.Dedicated],
	}
}

// builtinsTick is the built-in frameworks' part of a cycle after its
// offers, each in turn: explain the waits of a framework that got no
// offer, run its clock and kill what it asks, its AfterTick, and the
// revival of one that revives after its Tick. Called with mu held.
func (t *Term) builtinsTick(got map[string]bool, now time.Time) {
	for _, e := range t.running.Entries() {
		fw := e.Framework
		if !got[e.Builtin.ID] {
			fw.NoOffers(t.freeOffers, now)
		}
		for _, id := range fw.Tick(now) {
			t.kill(id, "", "")
		}
		if e.Builtin.AfterTick != nil {
			e.Builtin.AfterTick()
		}
		if e.Builtin.ReviveAfterTick {
			t.reviveBuiltin(fw)
		}
	}
}

// builtinsAttributesChanged tells the built-in frameworks that watch
// attributes an agent's new effective ones, and returns the tasks they
// ask to move. Called with mu held.
func (t *Term) builtinsAttributesChanged(agentID, hostname string, attrs map[string]string) []string {
	var kills []string
	for _, e := range t.running.Entries() {
		if w, ok := e.Framework.(framework.AttributesWatcher); ok {
			kills = append(kills, w.AttributesChanged(agentID, hostname, attrs)...)
		}
	}
	return kills
}

// isBuiltin reports whether id is a framework the term runs itself.
func (t *Term) isBuiltin(id string) bool {
	_, ok := t.builtins.Lookup(id)
	return ok
}

// coreBuiltins shows the core the registry's frameworks (core.Builtins),
// called in the core's Step, under mu.
type coreBuiltins struct{ t *Term }

func (b coreBuiltins) Name(id string) (string, bool) {
	bi, ok := b.t.builtins.Lookup(id)
	return bi.Name, ok
}

// TaskStatus hands a task's status to its built-in framework and returns
// the tasks the framework asks to kill. A task whose agent is unknown
// comes with empty attributes, never nil: nil tells the apps framework to
// keep the ones it had.
func (b coreBuiltins) TaskStatus(id string, st api.TaskStatus, hostname string, attrs map[string]string, now time.Time) []string {
	fw := b.t.running.Get(id)
	if fw == nil {
		return nil
	}
	if attrs == nil {
		attrs = map[string]string{}
	}
	return fw.Update(st, hostname, attrs, now)
}

func (b coreBuiltins) AttributesChanged(agentID, hostname string, attrs map[string]string) []string {
	return b.t.builtinsAttributesChanged(agentID, hostname, attrs)
}

func (b coreBuiltins) ForgetAgent(agentID string) {
	for _, e := range b.t.running.Entries() {
		e.Framework.ForgetAgent(agentID)
	}
}
