package agent

import (
	"cmp"
	"slices"
	"time"
)

// Candidate is a running task as the QoS controller sees it.
type Candidate struct {
	ID        string
	Revocable bool
	Priority  int
	Started   time.Time
	MemBytes  uint64
}

// PickVictims chooses which tasks to evict to free need bytes of batch
// memory: only revocable tasks, lowest priority first and, among equals,
// the youngest first (it has lost the least work). It stops as soon as
// enough is freed and never touches a non-revocable task. The result may
// free less than need when revocable tasks do not hold enough.
func PickVictims(tasks []Candidate, need uint64) []Candidate {
	if need == 0 {
		return nil
	}
	pool := make([]Candidate, 0, len(tasks))
	for _, t := range tasks {
		if t.Revocable {
			pool = append(pool, t)
		}
	}
	slices.SortFunc(pool, func(a, b Candidate) int {
		if c := cmp.Compare(a.Priority, b.Priority); c != 0 {
			return c
		}
		if c := b.Started.Compare(a.Started); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	var (
		out   []Candidate
		freed uint64
	)
	for _, t := range pool {
		if freed >= need {
			break
		}
		out = append(out, t)
		freed += t.MemBytes
	}
	return out
}
