package framework

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
)

// Constraint operators, Marathon's names.
const (
	OpUnique  = "UNIQUE"
	OpCluster = "CLUSTER"
	OpGroupBy = "GROUP_BY"
	OpLike    = "LIKE"
	OpUnlike  = "UNLIKE"
	OpMaxPer  = "MAX_PER"
	OpIs      = "IS"
)

// Constraint is one parsed [field, OPERATOR, value?] triple.
type Constraint struct {
	Field    string
	Operator string
	Value    string
	re       *regexp.Regexp // LIKE, UNLIKE
	n        int            // GROUP_BY (0: unknown group count), MAX_PER
}

// ParseConstraints parses an app's or a job's constraints; the error
// names the index.
func ParseConstraints(raw [][]string) ([]Constraint, error) {
	out := make([]Constraint, 0, len(raw))
	for i, r := range raw {
		c, err := ParseConstraint(r)
		if err != nil {
			return nil, fmt.Errorf("constraint %d: %w", i, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// ParseConstraint parses one [field, OPERATOR, value?] triple.
func ParseConstraint(r []string) (Constraint, error) {
	if len(r) < 2 || len(r) > 3 {
		return Constraint{}, fmt.Errorf("must be [field, OPERATOR] or [field, OPERATOR, value], got %d elements", len(r))
	}
	c := Constraint{Field: r[0], Operator: r[1]}
	if len(r) == 3 {
		c.Value = r[2]
	}
	if c.Field == "" {
		return Constraint{}, errors.New("field must not be empty")
	}
	switch c.Operator {
	case OpUnique:
		if len(r) != 2 {
			return Constraint{}, errors.New("UNIQUE takes no value")
		}
	case OpCluster:
		// An empty or absent value means "wherever the first one went".
	case OpGroupBy:
		if len(r) == 3 {
			n, err := strconv.Atoi(c.Value)
			if err != nil || n < 1 {
				return Constraint{}, fmt.Errorf("GROUP_BY value must be a positive integer, got %q", c.Value)
			}
			c.n = n
		}
	case OpMaxPer:
		if len(r) != 3 {
			return Constraint{}, errors.New("MAX_PER needs a value")
		}
		n, err := strconv.Atoi(c.Value)
		if err != nil || n < 1 {
			return Constraint{}, fmt.Errorf("MAX_PER value must be a positive integer, got %q", c.Value)
		}
		c.n = n
	case OpLike, OpUnlike:
		if len(r) != 3 {
			return Constraint{}, fmt.Errorf("%s needs a regular expression", c.Operator)
		}
		// Marathon matches the whole value, not a substring.
		re, err := regexp.Compile(`^(?:` + c.Value + `)$`)
		if err != nil {
			return Constraint{}, fmt.Errorf("%s: bad regular expression %q: %w", c.Operator, c.Value, err)
		}
		c.re = re
	case OpIs:
		if len(r) != 3 {
			return Constraint{}, errors.New("IS needs a value")
		}
	default:
		return Constraint{}, fmt.Errorf("unknown operator %q", c.Operator)
	}
	return c, nil
}

// value reads the constraint's field on an agent; ok is false when the
// agent does not have it.
func (c Constraint) value(a Agent) (string, bool) {
	if c.Field == "hostname" {
		return a.Hostname, a.Hostname != ""
	}
	v, ok := a.Attributes[c.Field]
	return v, ok
}

// Allows reports whether one more instance may be placed on candidate.
// placed holds the agent of each of the app's live tasks (one entry per
// task, so an agent appears once per task on it); known holds every agent
// the scheduler has seen, which GROUP_BY needs to know the groups that
// exist but are still empty.
//
// An agent without the field fails LIKE, IS and CLUSTER, passes UNLIKE
// (nothing to match), and is not eligible for UNIQUE, MAX_PER and GROUP_BY:
// treating "missing" as one more value would let any number of unlabelled
// agents each take an instance, which is not what spreading asked for.
func (c Constraint) Allows(candidate Agent, placed, known []Agent) bool {
	v, ok := c.value(candidate)
	switch c.Operator {
	case OpUnlike:
		return !ok || !c.re.MatchString(v)
	case OpLike:
		return ok && c.re.MatchString(v)
	case OpIs:
		return ok && v == c.Value
	case OpCluster:
		if !ok {
			return false
		}
		if c.Value != "" {
			return v == c.Value
		}
		for _, p := range placed {
			if pv, pok := c.value(p); pok {
				return v == pv
			}
		}
		return true
	}
	if !ok {
		return false
	}
	counts := map[string]int{}
	for _, p := range placed {
		if pv, pok := c.value(p); pok {
			counts[pv]++
		}
	}
	switch c.Operator {
	case OpUnique:
		return counts[v] == 0
	case OpMaxPer:
		return counts[v] < c.n
	case OpGroupBy:
		groups := map[string]bool{v: true}
		for _, list := range [][]Agent{placed, known} {
			for _, a := range list {
				if av, aok := c.value(a); aok {
					groups[av] = true
				}
			}
		}
		// With fewer groups seen than the app says exist, the missing ones
		// hold zero instances: wait for them rather than pile up.
		least := 0
		if c.n <= len(groups) {
			least = -1
			for _, g := range slices.Sorted(maps.Keys(groups)) {
				if least < 0 || counts[g] < least {
					least = counts[g]
				}
			}
		}
		return counts[v] == least
	}
	return false
}

// AllowsAll reports whether every constraint allows the candidate.
func AllowsAll(cs []Constraint, candidate Agent, placed, known []Agent) bool {
	for _, c := range cs {
		if !c.Allows(candidate, placed, known) {
			return false
		}
	}
	return true
}
