package allocator

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/headroom-dev/headroom/internal/resources"
)

const (
	// DefaultOfferTimeout is shorter than anything Mesos would pick because
	// the revocable pool behind an offer moves with every estimate: an offer
	// kept for minutes describes capacity that is no longer there.
	DefaultOfferTimeout = 30 * time.Second
	// DefaultRefuseDuration is Mesos's refuse_seconds default.
	DefaultRefuseDuration = 5 * time.Second
	// MaxRefuse caps a filter: frameworks send huge values to mean "until I
	// revive", and a capped filter still ends without one.
	MaxRefuse = 365 * 24 * time.Hour
	// RefuseDefault asks Accept and Decline for Config.DefaultRefuse. Zero
	// cannot mean that, because a zero refuse is a legitimate "no filter".
	RefuseDefault time.Duration = -1
)

// Config tunes an Allocator. The zero value is usable.
type Config struct {
	// OfferTimeout is how long a framework may sit on an offer before it is
	// rescinded. Zero means DefaultOfferTimeout.
	OfferTimeout time.Duration
	// DefaultRefuse is the filter installed for an agent's unused resources
	// when a framework accepts or declines without saying. Zero means
	// DefaultRefuseDuration.
	DefaultRefuse time.Duration
	// OfferIDPrefix is put in front of the offer counter. A master that
	// takes over should use its own (its term, say) so that its offer ids
	// never collide with the previous leader's. Empty means "o".
	OfferIDPrefix string
}

func (c Config) withDefaults() (Config, error) {
	switch {
	case c.OfferTimeout < 0:
		return c, fmt.Errorf("offer_timeout: must not be negative, got %s", c.OfferTimeout)
	case c.DefaultRefuse < 0:
		return c, fmt.Errorf("default_refuse: must not be negative, got %s", c.DefaultRefuse)
	case c.DefaultRefuse > MaxRefuse:
		return c, fmt.Errorf("default_refuse: must be at most %s, got %s", MaxRefuse, c.DefaultRefuse)
	}
	if c.OfferTimeout == 0 {
		c.OfferTimeout = DefaultOfferTimeout
	}
	if c.DefaultRefuse == 0 {
		c.DefaultRefuse = DefaultRefuseDuration
	}
	if c.OfferIDPrefix == "" {
		c.OfferIDPrefix = "o"
	}
	return c, nil
}

// Allocator is the DRF allocator. It is not safe for concurrent use: the
// master's loop owns it and calls it from one goroutine.
type Allocator struct {
	cfg Config

	agents map[string]*agentState
	// order holds the agents sorted by id; pending holds those added since
	// the last cycle, merged in at the next one so that registering
	// thousands of agents is not quadratic.
	order   []*agentState
	pending []*agentState
	// cursor rotates the agent the cycle starts with, so that when demand
	// is short the same agents are not always the ones loaded.
	cursor int

	frameworks map[string]*frameworkState
	roles      map[string]*roleState
	// used is what each framework id runs, summed over agents. It outlives
	// the framework's registration: tasks keep running while a scheduler
	// fails over, and agents report tasks of frameworks not yet back.
	used map[string]ByPool

	book     offerBook
	offerSeq uint64
	// slab is the rest of the chunk the states of offers beyond an
	// agent's first two are carved from (see agentState.inline). A chunk
	// is freed once all its offers are gone, which the offer timeout
	// bounds.
	slab []offerState
	// ids is the chunk offer ids are written to. An id is a substring of
	// it, so a cycle allocates a chunk per hundred-odd offers rather than
	// a string per offer; a Builder never rewrites what it returned, and a
	// full chunk is left to the ids that point into it.
	ids strings.Builder

	// totals is the sum of the agents' pools, valid while totalsValid;
	// see poolTotals.
	totals      ByPool
	totalsValid bool

	cyc cycle
}

type agentState struct {
	Agent
	total   ByPool
	used    ByPool
	offered ByPool
	usedBy  map[string]ByPool // framework id -> used on this agent; nil when idle
	offers  []*offerState     // outstanding, oldest first
	merged  bool              // in Allocator.order rather than pending
	// offerBuf backs offers: an agent rarely holds more than two, and a
	// cycle over every agent then allocates no slice.
	offerBuf [2]*offerState
	// inline holds the states of the agent's first two offers; a free
	// one has no agent. A cycle offers an agent to one or two frameworks
	// (the dedicated pool to one that refuses revocable resources, the
	// rest to one that accepts them), so with the states here a cycle
	// allocates none and leaves no garbage; the price is their room on
	// an idle agent. They are an object of their own rather than part of
	// agentState because objects up to 512 bytes are marked span by span
	// by the collector, which in a large cluster costs markedly less than
	// scanning larger objects one by one.
	inline *[2]offerState
}

func (ag *agentState) available() ByPool {
	var b ByPool
	for p := range b {
		b[p] = ag.total[p].Sub(ag.used[p]).Sub(ag.offered[p]).NonNegative()
	}
	return b
}

type frameworkState struct {
	Framework
	role      *roleState
	allocated ByPool               // used + offered
	offers    []*offerState        // outstanding, in no order
	filters   map[string]time.Time // agent id -> refused until

	// Scratch of the current cycle.
	share   float64 // weighted dominant share
	heapIdx int
	expired bool // expire took offers out of offers
}

// weight resolves the inherited weight.
func (f *frameworkState) weight() float64 {
	if f.Weight > 0 {
		return f.Weight
	}
	return f.role.weight
}

type roleState struct {
	name       string
	weight     float64
	quota      Quota
	configured bool // set by SetRole; kept when its last framework leaves
	frameworks map[string]*frameworkState
	allocated  ByPool

	// Scratch of the current cycle.
	share     float64
	below     bool
	revocable bool // some framework of the role accepts revocable
	heapIdx   int
	capable   fwHeap // frameworks accepting revocable
	plain     fwHeap // the others
}

// New returns an empty allocator.
func New(cfg Config) (*Allocator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Allocator{
		cfg:        cfg,
		agents:     make(map[string]*agentState),
		frameworks: make(map[string]*frameworkState),
		roles:      make(map[string]*roleState),
		used:       make(map[string]ByPool),
	}, nil
}

func validateAgent(ag Agent) error {
	if ag.ID == "" {
		return fmt.Errorf("agent id: must not be empty")
	}
	if err := ag.totals().validate(); err != nil {
		return fmt.Errorf("agent %q: %w", ag.ID, err)
	}
	return nil
}

// AddAgent registers an agent. Its resources are offered at the next cycle.
func (a *Allocator) AddAgent(ag Agent) error {
	if err := validateAgent(ag); err != nil {
		return err
	}
	if _, ok := a.agents[ag.ID]; ok {
		return fmt.Errorf("agent %q: %w", ag.ID, ErrExists)
	}
	ag.Attributes = copyAttributes(ag.Attributes)
	st := &agentState{Agent: ag, total: ag.totals(), inline: new([2]offerState)}
	st.offers = st.offerBuf[:0]
	a.agents[ag.ID] = st
	a.pending = append(a.pending, st)
	a.totalsValid = false
	return nil
}

// UpdateAgent sets an agent's pools, as the monitor's estimate moves. When
// a pool no longer holds what is used and offered on it, the offers that
// draw on that pool are rescinded at once, before any new allocation can
// build on the stale figure, and returned for the master to send.
func (a *Allocator) UpdateAgent(id string, revocable, dedicated resources.Resources) ([]Rescind, error) {
	ag, ok := a.agents[id]
	if !ok {
		return nil, fmt.Errorf("agent %q: %w", id, ErrUnknownAgent)
	}
	upd := ag.Agent
	upd.Revocable, upd.Dedicated = revocable, dedicated
	if err := validateAgent(upd); err != nil {
		return nil, err
	}
	ag.Agent = upd
	ag.total = upd.totals()
	a.totalsValid = false
	return a.rescindOvercommitted(ag, RescindPoolShrunk), nil
}

// rescindOvercommitted takes back the offers drawing on any pool of ag
// that no longer holds used + offered.
func (a *Allocator) rescindOvercommitted(ag *agentState, reason RescindReason) []Rescind {
	var over [NumPools]bool
	hit := false
	for p := range ag.total {
		if !ag.offered[p].IsZero() && !ag.total[p].Contains(ag.used[p].Add(ag.offered[p])) {
			over[p], hit = true, true
		}
	}
	if !hit {
		return nil
	}
	var out []Rescind
	for _, o := range slices.Clone(ag.offers) {
		for p, r := range o.Resources {
			if over[p] && !r.IsZero() {
				out = append(out, a.rescind(o, reason))
				break
			}
		}
	}
	return out
}

// RemoveAgent forgets an agent: its offers are rescinded and what its tasks
// used is released, since those tasks are gone with it.
func (a *Allocator) RemoveAgent(id string) ([]Rescind, error) {
	ag, ok := a.agents[id]
	if !ok {
		return nil, fmt.Errorf("agent %q: %w", id, ErrUnknownAgent)
	}
	var out []Rescind
	for _, o := range slices.Clone(ag.offers) {
		out = append(out, a.rescind(o, RescindAgentRemoved))
	}
	fws := make([]string, 0, len(ag.usedBy))
	for fw := range ag.usedBy {
		fws = append(fws, fw)
	}
	slices.Sort(fws) // float sums must not depend on map order
	for _, fw := range fws {
		a.releaseUsed(ag, fw, ag.usedBy[fw])
	}
	delete(a.agents, id)
	a.totalsValid = false
	if ag.merged {
		i, found := slices.BinarySearchFunc(a.order, id, func(s *agentState, id string) int { return cmp.Compare(s.ID, id) })
		if found {
			a.order = slices.Delete(a.order, i, i+1)
		}
	} else {
		a.pending = slices.DeleteFunc(a.pending, func(s *agentState) bool { return s == ag })
	}
	return out, nil
}

// SetAttributes replaces an agent's attributes; unlike in Mesos, no
// restart is needed.
func (a *Allocator) SetAttributes(id string, attrs map[string]string) error {
	ag, ok := a.agents[id]
	if !ok {
		return fmt.Errorf("agent %q: %w", id, ErrUnknownAgent)
	}
	ag.Attributes = copyAttributes(attrs)
	return nil
}

// copyAttributes keeps the allocator's maps out of callers' reach.
func copyAttributes(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

func validWeight(w float64) bool {
	return !math.IsNaN(w) && !math.IsInf(w, 0) && w >= 0
}

// AddFramework registers a framework. Resources it already uses (reported
// by agents through AddUsed before it came back) count toward its share at
// once. A framework that comes back with another role or capability is
// removed and added again.
func (a *Allocator) AddFramework(fw Framework) error {
	if fw.ID == "" {
		return fmt.Errorf("framework id: must not be empty")
	}
	if !validWeight(fw.Weight) {
		return fmt.Errorf("framework %q: weight: must be a finite number >= 0, got %v", fw.ID, fw.Weight)
	}
	if _, ok := a.frameworks[fw.ID]; ok {
		return fmt.Errorf("framework %q: %w", fw.ID, ErrExists)
	}
	if fw.Role == "" {
		fw.Role = DefaultRole
	}
	r := a.role(fw.Role)
	f := &frameworkState{Framework: fw, role: r, allocated: a.used[fw.ID]}
	r.frameworks[fw.ID] = f
	r.allocated = r.allocated.Add(f.allocated)
	a.frameworks[fw.ID] = f
	return nil
}

// role returns the named role, creating it with default weight.
func (a *Allocator) role(name string) *roleState {
	r, ok := a.roles[name]
	if !ok {
		r = &roleState{name: name, weight: 1, frameworks: make(map[string]*frameworkState)}
		a.roles[name] = r
	}
	return r
}

// RemoveFramework forgets a framework: its offers and filters go. What its
// tasks use stays on the agents until RecoverResources reports them ended,
// because the tasks keep running until the master has killed them.
func (a *Allocator) RemoveFramework(id string) ([]Rescind, error) {
	f, ok := a.frameworks[id]
	if !ok {
		return nil, fmt.Errorf("framework %q: %w", id, ErrUnknownFramework)
	}
	out := a.rescindAll(f, RescindFrameworkRemoved)
	r := f.role
	r.allocated = r.allocated.Sub(f.allocated)
	delete(r.frameworks, id)
	if len(r.frameworks) == 0 {
		if !r.configured {
			delete(a.roles, r.name)
		} else {
			r.allocated = ByPool{} // nothing left but rounding
		}
	}
	delete(a.frameworks, id)
	return out, nil
}

func (a *Allocator) rescindAll(f *frameworkState, reason RescindReason) []Rescind {
	offers := slices.Clone(f.offers)
	slices.SortFunc(offers, bySeq)
	out := make([]Rescind, 0, len(offers))
	for _, o := range offers {
		out = append(out, a.rescind(o, reason))
	}
	return out
}

// SetRole configures a role's weight (zero means the default, 1) and quota.
// A lowered limit applies to new offers; what is held already stays.
func (a *Allocator) SetRole(name string, weight float64, quota Quota) error {
	if name == "" {
		return fmt.Errorf("role name: must not be empty")
	}
	if !validWeight(weight) {
		return fmt.Errorf("role %q: weight: must be a finite number >= 0, got %v", name, weight)
	}
	if err := quota.validate(); err != nil {
		return fmt.Errorf("role %q: quota: %w", name, err)
	}
	if weight == 0 {
		weight = 1
	}
	r := a.role(name)
	r.weight, r.quota, r.configured = weight, quota, true
	return nil
}

// Suppress stops offers to a framework until it revives.
func (a *Allocator) Suppress(id string) error {
	f, ok := a.frameworks[id]
	if !ok {
		return fmt.Errorf("framework %q: %w", id, ErrUnknownFramework)
	}
	f.Suppressed = true
	return nil
}

// Revive clears a framework's filters and resumes its offers.
func (a *Allocator) Revive(id string) error {
	f, ok := a.frameworks[id]
	if !ok {
		return fmt.Errorf("framework %q: %w", id, ErrUnknownFramework)
	}
	f.Suppressed = false
	f.filters = nil
	return nil
}

// resolveRefuse turns a refuse argument into a filter duration.
func (a *Allocator) resolveRefuse(refuse time.Duration) (time.Duration, error) {
	switch {
	case refuse == RefuseDefault:
		return a.cfg.DefaultRefuse, nil
	case refuse < 0:
		return 0, fmt.Errorf("refuse: must not be negative, got %s", refuse)
	case refuse > MaxRefuse:
		return MaxRefuse, nil
	}
	return refuse, nil
}

// Accept records that the framework launched tasks using used out of the
// offer (pool by pool). The rest returns to the agent, and the agent is
// filtered for the framework for refuse (RefuseDefault for the configured
// default, zero for no filter) if anything was left over. It returns the
// accepted offer.
func (a *Allocator) Accept(offerID string, used ByPool, refuse time.Duration, now time.Time) (Offer, error) {
	o, ok := a.lookup(offerID)
	if !ok {
		return Offer{}, fmt.Errorf("offer %q: %w", offerID, ErrUnknownOffer)
	}
	if err := used.validate(); err != nil {
		return Offer{}, fmt.Errorf("offer %q: used: %w", offerID, err)
	}
	for p, u := range used {
		if !o.Resources[p].Contains(u) {
			return Offer{}, fmt.Errorf("offer %q: used %s resources %s exceed the offered %s", offerID, Pool(p), u, o.Resources[p])
		}
	}
	d, err := a.resolveRefuse(refuse)
	if err != nil {
		return Offer{}, fmt.Errorf("offer %q: %w", offerID, err)
	}
	f, ag, offer := o.fw, o.ag, o.offer()
	a.removeOffer(o)
	for p, u := range used {
		if !u.IsZero() {
			a.addUsed(ag, offer.FrameworkID, Pool(p), u)
		}
	}
	if !offer.Resources.Sub(used).IsZero() {
		a.filter(f, offer.AgentID, d, now)
	}
	return offer, nil
}

// Decline returns the whole offer and filters the agent for the framework
// for refuse (RefuseDefault for the configured default, zero for none).
func (a *Allocator) Decline(offerID string, refuse time.Duration, now time.Time) error {
	o, ok := a.lookup(offerID)
	if !ok {
		return fmt.Errorf("offer %q: %w", offerID, ErrUnknownOffer)
	}
	d, err := a.resolveRefuse(refuse)
	if err != nil {
		return fmt.Errorf("offer %q: %w", offerID, err)
	}
	f, agentID := o.fw, o.AgentID
	a.removeOffer(o)
	a.filter(f, agentID, d, now)
	return nil
}

func (a *Allocator) filter(f *frameworkState, agentID string, d time.Duration, now time.Time) {
	if d <= 0 {
		return
	}
	until := now.Add(d)
	if f.filters == nil {
		f.filters = make(map[string]time.Time)
	}
	if cur, ok := f.filters[agentID]; !ok || cur.Before(until) {
		f.filters[agentID] = until
	}
}

// RecoverResources releases what a task of the framework used on the agent
// once the task has ended. The framework need not be registered any more.
func (a *Allocator) RecoverResources(agentID, frameworkID string, pool Pool, r resources.Resources) error {
	ag, err := a.usageArgs(agentID, frameworkID, pool, r)
	if err != nil {
		return err
	}
	u := ag.usedBy[frameworkID]
	if !u[pool].Contains(r) {
		return fmt.Errorf("recovering %s from the %s pool of agent %q: framework %q uses only %s there",
			r, pool, agentID, frameworkID, u[pool])
	}
	var rel ByPool
	rel[pool] = r
	a.releaseUsed(ag, frameworkID, rel)
	return nil
}

// AddUsed records resources used by a running task the allocator did not
// place, as agents report after a master failover. The amount is the
// agent's truth and is taken even beyond the pool's total; offers that no
// longer fit beside it are rescinded and returned.
func (a *Allocator) AddUsed(agentID, frameworkID string, pool Pool, r resources.Resources) ([]Rescind, error) {
	ag, err := a.usageArgs(agentID, frameworkID, pool, r)
	if err != nil {
		return nil, err
	}
	a.addUsed(ag, frameworkID, pool, r)
	return a.rescindOvercommitted(ag, RescindUsedGrew), nil
}

func (a *Allocator) usageArgs(agentID, frameworkID string, pool Pool, r resources.Resources) (*agentState, error) {
	ag, ok := a.agents[agentID]
	switch {
	case !ok:
		return nil, fmt.Errorf("agent %q: %w", agentID, ErrUnknownAgent)
	case frameworkID == "":
		return nil, fmt.Errorf("framework id: must not be empty")
	case !pool.valid():
		return nil, fmt.Errorf("pool: unknown pool %d", uint8(pool))
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("resources for framework %q on agent %q: %w", frameworkID, agentID, err)
	}
	return ag, nil
}

func (a *Allocator) addUsed(ag *agentState, fw string, pool Pool, r resources.Resources) {
	var add ByPool
	add[pool] = r
	ag.used = ag.used.Add(add)
	if ag.usedBy == nil {
		ag.usedBy = make(map[string]ByPool)
	}
	ag.usedBy[fw] = ag.usedBy[fw].Add(add)
	a.used[fw] = a.used[fw].Add(add)
	if f, ok := a.frameworks[fw]; ok {
		f.allocated = f.allocated.Add(add)
		f.role.allocated = f.role.allocated.Add(add)
	}
}

func (a *Allocator) releaseUsed(ag *agentState, fw string, rel ByPool) {
	ag.used = ag.used.Sub(rel)
	if u := ag.usedBy[fw].Sub(rel); u.IsZero() {
		delete(ag.usedBy, fw)
		if len(ag.usedBy) == 0 {
			ag.used = ByPool{}
		}
	} else {
		ag.usedBy[fw] = u
	}
	if u := a.used[fw].Sub(rel); u.IsZero() {
		delete(a.used, fw)
	} else {
		a.used[fw] = u
	}
	if f, ok := a.frameworks[fw]; ok {
		f.allocated = f.allocated.Sub(rel)
		f.role.allocated = f.role.allocated.Sub(rel)
	}
}
