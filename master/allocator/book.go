package allocator

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// offerBook holds the outstanding offers in the order they were made.
// Offer sequence numbers only grow, so appending keeps the book sorted:
// lookups by id are a binary search, the timeout scan needs no sort, and a
// cycle that makes tens of thousands of offers pays no hashing and no map
// growth. Each offer knows its slot, so removal is a store; removed offers
// leave a hole until the next compaction.
type offerBook struct {
	slots []offerSlot
	live  int
}

type offerSlot struct {
	seq uint64
	o   *offerState // nil once the offer is gone
}

func (b *offerBook) add(o *offerState) {
	o.slot = len(b.slots)
	b.slots = append(b.slots, offerSlot{seq: o.seq, o: o})
	b.live++
}

func (b *offerBook) find(seq uint64) (int, bool) {
	i, ok := slices.BinarySearchFunc(b.slots, seq, func(s offerSlot, seq uint64) int { return cmp.Compare(s.seq, seq) })
	return i, ok && b.slots[i].o != nil
}

func (b *offerBook) remove(o *offerState) {
	b.slots[o.slot].o = nil
	b.live--
	// Compact once holes outnumber offers, so that the cost is amortised
	// over the removals that made them.
	if holes := len(b.slots) - b.live; holes > b.live && holes > 64 {
		b.compact()
	}
}

func (b *offerBook) compact() {
	n := 0
	for _, s := range b.slots {
		if s.o != nil {
			s.o.slot = n
			b.slots[n] = s
			n++
		}
	}
	clear(b.slots[n:])
	b.slots = b.slots[:n]
}

// all calls fn on every outstanding offer, oldest first. fn must not
// remove offers; collect them and remove afterwards.
func (b *offerBook) all(fn func(*offerState)) {
	for _, s := range b.slots {
		if s.o != nil {
			fn(s.o)
		}
	}
}

// lookup finds an outstanding offer by the id the allocator gave it.
func (a *Allocator) lookup(id string) (*offerState, bool) {
	digits, ok := strings.CutPrefix(id, a.cfg.OfferIDPrefix)
	if !ok {
		return nil, false
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return nil, false
	}
	i, ok := a.book.find(seq)
	// The id is compared too: "o01" parses like "o1" but is not its name.
	if !ok || a.book.slots[i].o.ID != id {
		return nil, false
	}
	return a.book.slots[i].o, true
}

// offerID formats an offer id with a single allocation.
func (a *Allocator) offerID(seq uint64) string {
	var buf [64]byte
	b := append(buf[:0], a.cfg.OfferIDPrefix...)
	return string(strconv.AppendUint(b, seq, 10))
}
