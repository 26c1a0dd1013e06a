package allocator

import (
	"errors"
	"fmt"
	"time"

	"github.com/headroom-dev/headroom/internal/resources"
)

// Pool is one of the two kinds of capacity an agent has.
type Pool uint8

const (
	// Revocable is the capacity the monitor harvested from the business
	// workload. It changes with every estimate and can be taken back at any
	// moment, so only frameworks that declare they accept it get it.
	Revocable Pool = iota
	// Dedicated is capacity set aside for batch work on the agent's command
	// line; it never shrinks on its own.
	Dedicated
)

// NumPools is the number of pools; ByPool and Totals are indexed by Pool.
const NumPools = 2

// String returns the pool's name as used on the wire and in metric labels.
func (p Pool) String() string {
	switch p {
	case Revocable:
		return "revocable"
	case Dedicated:
		return "dedicated"
	}
	return fmt.Sprintf("pool(%d)", uint8(p))
}

// ParsePool is the inverse of Pool.String.
func ParsePool(s string) (Pool, error) {
	switch s {
	case "revocable":
		return Revocable, nil
	case "dedicated":
		return Dedicated, nil
	}
	return 0, fmt.Errorf("pool: must be %q or %q, got %q", "revocable", "dedicated", s)
}

func (p Pool) valid() bool { return p < NumPools }

// ByPool holds one resource vector per pool, indexed by Pool.
type ByPool [NumPools]resources.Resources

// Sum returns the resources of all pools together.
func (b ByPool) Sum() resources.Resources {
	return b[Revocable].Add(b[Dedicated])
}

// Add returns b + o, pool by pool.
func (b ByPool) Add(o ByPool) ByPool {
	for p := range b {
		b[p] = b[p].Add(o[p])
	}
	return b
}

// Sub returns b - o, pool by pool, with negative components set to zero:
// callers subtract what they added before, so a negative value can only be
// float rounding.
func (b ByPool) Sub(o ByPool) ByPool {
	for p := range b {
		b[p] = b[p].Sub(o[p]).NonNegative()
	}
	return b
}

// IsZero reports whether every pool is zero.
func (b ByPool) IsZero() bool {
	for _, r := range b {
		if !r.IsZero() {
			return false
		}
	}
	return true
}

// validate checks every pool and names the offending one.
func (b ByPool) validate() error {
	for p, r := range b {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("%s: %w", Pool(p), err)
		}
	}
	return nil
}

// Agent is a host that offers capacity to batch work.
type Agent struct {
	ID       string
	Hostname string
	// Attributes are the operator's labels (rack, zone, ...). The allocator
	// keeps them for the views; placement constraints are the frameworks'
	// business.
	Attributes map[string]string
	// Revocable is the harvested capacity the agent last reported.
	Revocable resources.Resources
	// Dedicated is the agent's static, non-revocable capacity.
	Dedicated resources.Resources
}

func (ag Agent) totals() ByPool {
	var b ByPool
	b[Revocable] = ag.Revocable
	b[Dedicated] = ag.Dedicated
	return b
}

// Framework is a scheduler that receives offers.
type Framework struct {
	ID string
	// Role groups frameworks for the first level of DRF and for quota.
	// Empty means "*", the default role, as in Mesos.
	Role string
	// Weight orders the framework against the others of its role. Zero
	// means the framework inherits its role's weight.
	Weight float64
	// Revocable reports whether the framework accepts revocable resources.
	Revocable bool
	// Suppressed frameworks get no offers until revived.
	Suppressed bool
}

// DefaultRole is the role of a framework that names none.
const DefaultRole = "*"

// Quota bounds what a role holds, offered and used together, summed over
// both pools.
type Quota struct {
	// Guarantee is what the role is served first until it holds it.
	Guarantee resources.Resources
	// Limit is what the role never exceeds. A zero component is unlimited,
	// so a limit on cores alone does not starve the role of memory.
	Limit resources.Resources
}

func (q Quota) validate() error {
	if err := q.Guarantee.Validate(); err != nil {
		return fmt.Errorf("guarantee: %w", err)
	}
	if err := q.Limit.Validate(); err != nil {
		return fmt.Errorf("limit: %w", err)
	}
	g, l := q.Guarantee, q.Limit
	switch {
	case l.CPUs > 0 && g.CPUs > l.CPUs:
		return fmt.Errorf("guarantee: cpus %v exceed limit %v", g.CPUs, l.CPUs)
	case l.MemBytes > 0 && g.MemBytes > l.MemBytes:
		return fmt.Errorf("guarantee: mem_bytes %d exceed limit %d", g.MemBytes, l.MemBytes)
	case l.Disk > 0 && g.Disk > l.Disk:
		return fmt.Errorf("guarantee: disk_bytes %d exceed limit %d", g.Disk, l.Disk)
	}
	return nil
}

// Offer is a set of resources of one agent proposed to one framework.
type Offer struct {
	ID          string
	FrameworkID string
	AgentID     string
	Hostname    string
	// Resources is what is offered, split by pool; the Revocable part may
	// be taken back at any time.
	Resources ByPool
	Created   time.Time
	// Expires is when the offer is rescinded if the framework has not
	// answered.
	Expires time.Time
}

// Part is the share of an offer that comes from one pool.
type Part struct {
	Pool      Pool
	Revocable bool
	Resources resources.Resources
}

// Parts lists the non-empty parts of the offer, revocable first, each
// flagged as the wire format wants it.
func (o Offer) Parts() []Part {
	parts := make([]Part, 0, NumPools)
	for p, r := range o.Resources {
		if !r.IsZero() {
			parts = append(parts, Part{Pool: Pool(p), Revocable: Pool(p) == Revocable, Resources: r})
		}
	}
	return parts
}

// RescindReason says why an offer was taken back.
type RescindReason uint8

const (
	// RescindTimeout: the framework did not answer within the offer timeout.
	RescindTimeout RescindReason = iota + 1
	// RescindPoolShrunk: the agent reported a pool smaller than what was
	// used and offered on it.
	RescindPoolShrunk
	// RescindUsedGrew: tasks re-adopted after a failover use more than
	// what was left beside the offer.
	RescindUsedGrew
	// RescindAgentRemoved: the agent left the cluster.
	RescindAgentRemoved
	// RescindFrameworkRemoved: the framework left the cluster.
	RescindFrameworkRemoved
)

// String returns the reason as used in logs and metric labels.
func (r RescindReason) String() string {
	switch r {
	case RescindTimeout:
		return "timeout"
	case RescindPoolShrunk:
		return "pool_shrunk"
	case RescindUsedGrew:
		return "used_grew"
	case RescindAgentRemoved:
		return "agent_removed"
	case RescindFrameworkRemoved:
		return "framework_removed"
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Rescind tells the master to take an offer back from a framework. Its
// resources are already free in the allocator when it is returned.
type Rescind struct {
	OfferID     string
	FrameworkID string
	AgentID     string
	Reason      RescindReason
}

// Result is what one allocation cycle decided, for the master to apply:
// first the rescinds, then the offers.
type Result struct {
	Rescinds []Rescind
	Offers   []Offer
}

// Share is one row of the fairness view: a role (Framework empty) or one
// of its frameworks.
type Share struct {
	Role      string
	Framework string
	// Allocated is used plus offered.
	Allocated ByPool
	// DominantShare is Allocated's largest fraction of the cluster total of
	// the pools the role or framework can use.
	DominantShare float64
	// Weight is the effective weight; DRF orders by DominantShare / Weight.
	Weight float64
	// BelowGuarantee is set on role rows whose quota guarantee is not met.
	BelowGuarantee bool
	// Suppressed is set on framework rows that asked for no offers.
	Suppressed bool
}

// PoolUsage is the state of one pool summed over the cluster.
type PoolUsage struct {
	Total   resources.Resources
	Offered resources.Resources
	Used    resources.Resources
}

// AgentView is the allocator's view of one agent.
type AgentView struct {
	Agent
	Used    ByPool
	Offered ByPool
	// Offers is the number of outstanding offers on the agent.
	Offers int
}

// Errors returned (wrapped, with the offending id) by the allocator, for
// the master to map onto API answers with errors.Is.
var (
	ErrUnknownAgent     = errors.New("unknown agent")
	ErrUnknownFramework = errors.New("unknown framework")
	ErrUnknownOffer     = errors.New("unknown offer")
	ErrExists           = errors.New("already exists")
)
