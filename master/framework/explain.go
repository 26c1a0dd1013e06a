package framework

import (
	"fmt"
	"strings"
	"time"

	"github.com/headroom-dev/headroom/internal/resources"
)

// Texts of the reasons a task of the apps or jobs framework waits for.
// The revocable one names both ways out: a new user's first app is
// revocable by default and a fresh agent harvests nothing for minutes.
const (
	ReasonNoAgents     = "no agent registered"
	ReasonNoRevocable  = `waiting for revocable capacity: no agent has free revocable capacity (harvest 0); apps are revocable by default; use --dedicated on the agent or "revocable": false`
	ReasonNoDedicated  = `no agent has free dedicated capacity: start an agent with --dedicated, or use harvested capacity with "revocable": true`
	ReasonOfferedElse  = "waiting for an offer: the free capacity is offered to another framework or filtered for this one"
	ReasonNextCycle    = "waiting for the next allocation cycle"
	reasonBackoffShape = "backoff until %s after %d failures"
)

// Need is what one waiting task asks for, as Explain reads it.
type Need struct {
	Resources resources.Resources
	Revocable bool
	// Instances is how many the app or job wants in all: a spreading
	// constraint reports it against the hosts there are.
	Instances   int
	Constraints []Constraint
}

// Explain says why a task with need fits none of cands: the offers the
// framework holds, or each agent's free capacity when it got no offer.
// placed are the tasks already placed for the same app or job, known
// every agent seen so far. The checks go from the coarsest to the finest
// (no agent, no capacity in the pool, a constraint no agent passes,
// resources), so the text names what to change first.
func Explain(need Need, cands []Offer, placed, known []Agent) string {
	if len(cands) == 0 {
		return ReasonNoAgents
	}
	pool := func(o Offer) resources.Resources {
		if need.Revocable {
			return o.Revocable
		}
		return o.Dedicated
	}
	empty := true
	for _, o := range cands {
		if !pool(o).Empty() {
			empty = false
			break
		}
	}
	if empty {
		if need.Revocable {
			return ReasonNoRevocable
		}
		return ReasonNoDedicated
	}
	var passing []Offer
	for _, o := range cands {
		if AllowsAll(need.Constraints, Agent{ID: o.AgentID, Hostname: o.Hostname, Attributes: o.Attributes}, placed, known) {
			passing = append(passing, o)
		}
	}
	if len(passing) == 0 {
		return explainConstraints(need, cands, placed, known)
	}
	want := need.Resources
	// The first resource that no single offer has enough of, with the
	// largest amount free of it and where.
	for _, r := range []struct {
		name string
		of   func(resources.Resources) float64
		show func(float64) string
	}{
		{"CPU", func(x resources.Resources) float64 { return x.CPUs }, num},
		{"memory", func(x resources.Resources) float64 { return float64(x.MemBytes) }, mibf},
		{"disk", func(x resources.Resources) float64 { return float64(x.Disk) }, mibf},
	} {
		var best Offer
		most := -1.0
		for _, o := range passing {
			if v := r.of(pool(o)); v > most {
				best, most = o, v
			}
		}
		if need := r.of(want); most < need {
			return fmt.Sprintf("no offer fits: short of %s %s (largest free %s on agent %s)",
				r.show(need-most), r.name, r.show(most), best.AgentID)
		}
	}
	for _, o := range passing {
		if pool(o).Contains(want) {
			// It fits: the capacity was seen free but not offered here.
			return ReasonOfferedElse
		}
	}
	return fmt.Sprintf("no offer fits: no agent has %s CPU and %s memory free together", num(want.CPUs), mib(want.MemBytes))
}

// explainConstraints names the first constraint that no candidate passes
// on its own, or the combination when each passes somewhere.
func explainConstraints(need Need, cands []Offer, placed, known []Agent) string {
	for _, c := range need.Constraints {
		ok := false
		for _, o := range cands {
			if c.Allows(Agent{ID: o.AgentID, Hostname: o.Hostname, Attributes: o.Attributes}, placed, known) {
				ok = true
				break
			}
		}
		if ok {
			continue
		}
		switch c.Operator {
		case OpUnique:
			return fmt.Sprintf("constraint UNIQUE %s: %s, %d instances", c.Field, countValues(c, cands, known), need.Instances)
		case OpMaxPer:
			return fmt.Sprintf("constraint MAX_PER %s %d: %s, %d instances", c.Field, c.n, countValues(c, cands, known), need.Instances)
		}
		return fmt.Sprintf("constraint %s %s %s: no agent with free capacity passes it", c.Field, c.Operator, c.Value)
	}
	return "constraints: no agent with free capacity passes them all"
}

// countValues says how many distinct values of c's field the agents have:
// "1 host", "3 values of rack".
func countValues(c Constraint, cands []Offer, known []Agent) string {
	seen := map[string]bool{}
	for _, a := range known {
		if v, ok := c.value(a); ok {
			seen[v] = true
		}
	}
	for _, o := range cands {
		if v, ok := c.value(Agent{ID: o.AgentID, Hostname: o.Hostname, Attributes: o.Attributes}); ok {
			seen[v] = true
		}
	}
	n := len(seen)
	if c.Field == "hostname" {
		return plural(n, "host", "hosts")
	}
	return plural(n, "value", "values") + " of " + c.Field
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// BackoffReason says a task waits out its backoff; lastFailure, when set,
// is the failure that caused it.
func BackoffReason(until time.Time, failures int, lastFailure string) string {
	s := fmt.Sprintf(reasonBackoffShape, until.UTC().Format(time.RFC3339), failures)
	if lastFailure != "" {
		s += ": " + lastFailure
	}
	return s
}

// FetchFailure words a failure caused by the fetcher so the reason says
// "last fetch failed" rather than a bare task state.
func FetchFailure(msg string) string { return "last fetch failed: " + msg }

func num(f float64) string {
	s := fmt.Sprintf("%.2f", f)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" || s == "-" {
		return "0"
	}
	return s
}

func mib(b int64) string { return mibf(float64(b)) }

func mibf(b float64) string { return num(b/(1<<20)) + " MiB" }
