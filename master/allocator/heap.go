package allocator

// heapItem is an element of the cycle's priority queues. before must be a
// strict total order (ties broken by id): the allocation then depends only
// on the keys, never on how the heap happens to be laid out.
type heapItem[T any] interface {
	before(T) bool
	setIndex(int)
}

// minHeap is a binary min-heap that tells its items where they sit, so an
// item whose key changed is fixed in O(log n) without a search.
// container/heap would do the same through an interface and a boxed Pop.
type minHeap[T heapItem[T]] struct {
	items []T
}

type (
	fwHeap   = minHeap[*frameworkState]
	roleHeap = minHeap[*roleState]
)

func (h *minHeap[T]) len() int { return len(h.items) }

func (h *minHeap[T]) top() T { return h.items[0] }

// reset empties the heap and keeps its storage for the next cycle.
func (h *minHeap[T]) reset() {
	clear(h.items)
	h.items = h.items[:0]
}

// add appends without restoring order; call init after a batch of adds.
func (h *minHeap[T]) add(x T) {
	x.setIndex(len(h.items))
	h.items = append(h.items, x)
}

func (h *minHeap[T]) init() {
	for i := len(h.items)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *minHeap[T]) push(x T) {
	h.add(x)
	h.up(len(h.items) - 1)
}

func (h *minHeap[T]) pop() T {
	n := len(h.items) - 1
	h.swap(0, n)
	x := h.items[n]
	var zero T
	h.items[n] = zero
	h.items = h.items[:n]
	h.down(0)
	x.setIndex(-1)
	return x
}

// fix restores order after the key of the item at i changed.
func (h *minHeap[T]) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h *minHeap[T]) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].setIndex(i)
	h.items[j].setIndex(j)
}

// up and down move the item into a hole instead of swapping it level by
// level: the same layout with half the stores, and these are pointer
// stores, which cost a write barrier each while the collector runs.

func (h *minHeap[T]) up(i int) {
	x := h.items[i]
	start := i
	for i > 0 {
		p := (i - 1) / 2
		if !x.before(h.items[p]) {
			break
		}
		h.items[i] = h.items[p]
		h.items[i].setIndex(i)
		i = p
	}
	if i != start {
		h.items[i] = x
		x.setIndex(i)
	}
}

// down sifts the item at i down and reports whether it moved.
func (h *minHeap[T]) down(i int) bool {
	start, n := i, len(h.items)
	if i >= n {
		return false
	}
	x := h.items[i]
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.items[r].before(h.items[l]) {
			m = r
		}
		if !h.items[m].before(x) {
			break
		}
		h.items[i] = h.items[m]
		h.items[i].setIndex(i)
		i = m
	}
	if i == start {
		return false
	}
	h.items[i] = x
	x.setIndex(i)
	return true
}

func (f *frameworkState) setIndex(i int) { f.heapIdx = i }

func (f *frameworkState) before(o *frameworkState) bool {
	if f.share != o.share {
		return f.share < o.share
	}
	return f.ID < o.ID
}

func (r *roleState) setIndex(i int) { r.heapIdx = i }

// before puts roles short of their guarantee first, then the lowest
// weighted share.
func (r *roleState) before(o *roleState) bool {
	if r.below != o.below {
		return r.below
	}
	if r.share != o.share {
		return r.share < o.share
	}
	return r.name < o.name
}
