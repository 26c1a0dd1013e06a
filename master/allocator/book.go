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
	// times is o's, kept here too so that the timeout scan reads the
	// book alone rather than visiting every outstanding offer.
	times *offerTimes
	o     *offerState // nil once the offer is gone
}

func (b *offerBook) add(o *offerState) {
	o.slot = len(b.slots)
	b.slots = appendDoubling(b.slots, offerSlot{seq: o.seq, times: o.times, o: o})
	b.live++
}

func (b *offerBook) find(seq uint64) (int, bool) {
	i, ok := slices.BinarySearchFunc(b.slots, seq, func(s offerSlot, seq uint64) int { return cmp.Compare(s.seq, seq) })
	return i, ok && b.slots[i].o != nil
}

func (b *offerBook) remove(o *offerState) {
	b.vacate(o.slot)
	b.compactIfSparse()
}

// vacate leaves a hole where the offer at slot was.
func (b *offerBook) vacate(slot int) {
	b.slots[slot] = offerSlot{seq: b.slots[slot].seq}
	b.live--
}

// compactIfSparse compacts once holes outnumber offers, so that the cost
// is amortised over the removals that made them.
func (b *offerBook) compactIfSparse() {
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

// idChunk is the size of the chunks offer ids are written to: a hundred
// or more ids each, and small enough that an id a caller keeps for long
// pins little.
const idChunk = 2048

// offerID formats an offer id into the current id chunk.
func (a *Allocator) offerID(seq uint64) string {
	var buf [20]byte
	digits := strconv.AppendUint(buf[:0], seq, 10)
	n := len(a.cfg.OfferIDPrefix) + len(digits)
	if a.ids.Cap()-a.ids.Len() < n {
		a.ids.Reset()
		a.ids.Grow(max(idChunk, n))
	}
	start := a.ids.Len()
	a.ids.WriteString(a.cfg.OfferIDPrefix)
	a.ids.Write(digits)
	return a.ids.String()[start:]
}
