package allocator

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/internal/resources"
)

func res(cpus float64, memGiB int64) resources.Resources {
	return resources.Resources{CPUs: cpus, MemBytes: memGiB << 30}
}

func TestNewConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		want    Config
		wantErr string
	}{
		{
			name: "zero value takes the defaults",
			want: Config{OfferTimeout: DefaultOfferTimeout, DefaultRefuse: DefaultRefuseDuration, OfferIDPrefix: "o"},
		},
		{
			name: "explicit values are kept",
			cfg:  Config{OfferTimeout: time.Minute, DefaultRefuse: time.Second, OfferIDPrefix: "t7-"},
			want: Config{OfferTimeout: time.Minute, DefaultRefuse: time.Second, OfferIDPrefix: "t7-"},
		},
		{name: "negative timeout", cfg: Config{OfferTimeout: -time.Second}, wantErr: "offer_timeout: must not be negative, got -1s"},
		{name: "negative refuse", cfg: Config{DefaultRefuse: -time.Second}, wantErr: "default_refuse: must not be negative, got -1s"},
		{name: "refuse over a year", cfg: Config{DefaultRefuse: MaxRefuse + 1}, wantErr: "default_refuse: must be at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New(%+v) error = %v, want it to contain %q", tt.cfg, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%+v): %v", tt.cfg, err)
			}
			if a.cfg != tt.want {
				t.Fatalf("config = %+v, want %+v", a.cfg, tt.want)
			}
		})
	}
}

func TestPoolNames(t *testing.T) {
	tests := []struct {
		pool Pool
		name string
	}{
		{Revocable, "revocable"},
		{Dedicated, "dedicated"},
	}
	for _, tt := range tests {
		if got := tt.pool.String(); got != tt.name {
			t.Errorf("Pool(%d).String() = %q, want %q", tt.pool, got, tt.name)
		}
		p, err := ParsePool(tt.name)
		if err != nil || p != tt.pool {
			t.Errorf("ParsePool(%q) = %v, %v; want %v", tt.name, p, err, tt.pool)
		}
	}
	if _, err := ParsePool("Revocable"); err == nil || !strings.Contains(err.Error(), `got "Revocable"`) {
		t.Errorf("ParsePool of a wrong name: error = %v, want it to name the value", err)
	}
	if got := Pool(7).String(); got != "pool(7)" {
		t.Errorf("Pool(7).String() = %q", got)
	}
}

func TestOfferParts(t *testing.T) {
	tests := []struct {
		name string
		res  ByPool
		want []Part
	}{
		{name: "nothing", want: []Part{}},
		{
			name: "dedicated only",
			res:  ByPool{Dedicated: res(2, 4)},
			want: []Part{{Pool: Dedicated, Resources: res(2, 4)}},
		},
		{
			name: "both, revocable flagged",
			res:  ByPool{Revocable: res(8, 16), Dedicated: res(1, 1)},
			want: []Part{{Pool: Revocable, Revocable: true, Resources: res(8, 16)}, {Pool: Dedicated, Resources: res(1, 1)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Offer{Resources: tt.res}).Parts(); !slices.Equal(got, tt.want) {
				t.Fatalf("Parts() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRescindReasonNames(t *testing.T) {
	want := map[RescindReason]string{
		RescindTimeout:          "timeout",
		RescindPoolShrunk:       "pool_shrunk",
		RescindUsedGrew:         "used_grew",
		RescindAgentRemoved:     "agent_removed",
		RescindFrameworkRemoved: "framework_removed",
		RescindReason(0):        "reason(0)",
	}
	for r, name := range want {
		if got := r.String(); got != name {
			t.Errorf("RescindReason(%d).String() = %q, want %q", uint8(r), got, name)
		}
	}
}

// TestErrors checks that every refusal wraps the right sentinel or names
// the field and value at fault.
func TestErrors(t *testing.T) {
	now := epoch()
	setup := func(t *testing.T) *Allocator {
		t.Helper()
		a, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.AddAgent(Agent{ID: "a1", Dedicated: res(4, 8)}); err != nil {
			t.Fatal(err)
		}
		if err := a.AddFramework(Framework{ID: "f1"}); err != nil {
			t.Fatal(err)
		}
		if got := a.Allocate(now); len(got.Offers) != 1 || got.Offers[0].ID != "o1" {
			t.Fatalf("setup allocation = %+v, want one offer o1", got)
		}
		return a
	}
	tests := []struct {
		name    string
		op      func(a *Allocator) error
		target  error
		wantErr string
	}{
		{
			name:   "agent registered twice",
			op:     func(a *Allocator) error { return a.AddAgent(Agent{ID: "a1"}) },
			target: ErrExists,
		},
		{
			name: "NaN cores",
			op: func(a *Allocator) error {
				return a.AddAgent(Agent{ID: "a2", Revocable: resources.Resources{CPUs: math.NaN()}})
			},
			wantErr: `agent "a2": revocable: cpus: must be a finite number, got NaN`,
		},
		{
			name: "update of an unknown agent",
			op: func(a *Allocator) error {
				_, err := a.UpdateAgent("a9", res(1, 1), res(1, 1))
				return err
			},
			target: ErrUnknownAgent,
		},
		{
			name: "negative memory in an update",
			op: func(a *Allocator) error {
				_, err := a.UpdateAgent("a1", resources.Resources{MemBytes: -1}, res(1, 1))
				return err
			},
			wantErr: `agent "a1": revocable: mem_bytes: must not be negative, got -1`,
		},
		{
			name:   "framework registered twice",
			op:     func(a *Allocator) error { return a.AddFramework(Framework{ID: "f1"}) },
			target: ErrExists,
		},
		{
			name:    "infinite framework weight",
			op:      func(a *Allocator) error { return a.AddFramework(Framework{ID: "f2", Weight: math.Inf(1)}) },
			wantErr: `framework "f2": weight: must be a finite number >= 0, got +Inf`,
		},
		{
			name:    "role without a name",
			op:      func(a *Allocator) error { return a.SetRole("", 1, Quota{}) },
			wantErr: "role name: must not be empty",
		},
		{
			name: "guarantee over limit on memory",
			op: func(a *Allocator) error {
				return a.SetRole("r", 1, Quota{Guarantee: res(1, 8), Limit: res(0, 4)})
			},
			wantErr: `role "r": quota: guarantee: mem_bytes 8589934592 exceed limit 4294967296`,
		},
		{
			name:   "revive of an unknown framework",
			op:     func(a *Allocator) error { return a.Revive("f9") },
			target: ErrUnknownFramework,
		},
		{
			name: "accept of an unknown offer",
			op: func(a *Allocator) error {
				_, err := a.Accept("o9", ByPool{}, RefuseDefault, now)
				return err
			},
			target: ErrUnknownOffer,
		},
		{
			name: "accept of more than offered",
			op: func(a *Allocator) error {
				_, err := a.Accept("o1", ByPool{Dedicated: res(5, 1)}, RefuseDefault, now)
				return err
			},
			wantErr: `offer "o1": used dedicated resources cpus=5`,
		},
		{
			name: "accept of revocable resources not offered",
			op: func(a *Allocator) error {
				_, err := a.Accept("o1", ByPool{Revocable: res(1, 1)}, RefuseDefault, now)
				return err
			},
			wantErr: `offer "o1": used revocable resources cpus=1`,
		},
		{
			name: "accept of negative resources",
			op: func(a *Allocator) error {
				_, err := a.Accept("o1", ByPool{Dedicated: resources.Resources{CPUs: -1}}, RefuseDefault, now)
				return err
			},
			wantErr: `offer "o1": used: dedicated: cpus: must not be negative, got -1`,
		},
		{
			name:    "decline with a negative refuse",
			op:      func(a *Allocator) error { return a.Decline("o1", -2*time.Second, now) },
			wantErr: `offer "o1": refuse: must not be negative, got -2s`,
		},
		{
			name:   "recover on an unknown agent",
			op:     func(a *Allocator) error { return a.RecoverResources("a9", "f1", Dedicated, res(1, 1)) },
			target: ErrUnknownAgent,
		},
		{
			name:    "recover of an unknown pool",
			op:      func(a *Allocator) error { return a.RecoverResources("a1", "f1", Pool(5), res(1, 1)) },
			wantErr: "pool: unknown pool 5",
		},
		{
			name: "add-used without framework",
			op: func(a *Allocator) error {
				_, err := a.AddUsed("a1", "", Dedicated, res(1, 1))
				return err
			},
			wantErr: "framework id: must not be empty",
		},
		{
			name: "add-used of negative resources",
			op: func(a *Allocator) error {
				_, err := a.AddUsed("a1", "f1", Dedicated, resources.Resources{Disk: -3})
				return err
			},
			wantErr: `resources for framework "f1" on agent "a1": disk_bytes: must not be negative, got -3`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := setup(t)
			err := tt.op(a)
			switch {
			case err == nil:
				t.Fatal("no error")
			case tt.target != nil && !errors.Is(err, tt.target):
				t.Fatalf("error %q does not wrap %q", err, tt.target)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q, want it to contain %q", err, tt.wantErr)
			}
			// A refused call changes nothing.
			if err := checkInvariants(a); err != nil {
				t.Fatal(err)
			}
			if _, ok := a.Offer("o1"); !ok {
				t.Fatal("the refused call removed offer o1")
			}
		})
	}
}

func TestRefuseResolution(t *testing.T) {
	a, err := New(Config{DefaultRefuse: 7 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   time.Duration
		want time.Duration
	}{
		{RefuseDefault, 7 * time.Second},
		{0, 0},
		{90 * time.Second, 90 * time.Second},
		{10 * MaxRefuse, MaxRefuse},
	}
	for _, tt := range tests {
		got, err := a.resolveRefuse(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("resolveRefuse(%v) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// TestRotatingStart checks that with short demand the cycle does not load
// the same agent every time.
func TestRotatingStart(t *testing.T) {
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a3", "a1", "a2"} {
		if err := a.AddAgent(Agent{ID: id, Dedicated: res(1, 1)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.SetRole("small", 1, Quota{Limit: res(1, 1)}); err != nil {
		t.Fatal(err)
	}
	if err := a.AddFramework(Framework{ID: "f", Role: "small"}); err != nil {
		t.Fatal(err)
	}
	var got []string
	now := epoch()
	for range 4 {
		res := a.Allocate(now)
		if len(res.Offers) != 1 {
			t.Fatalf("allocation at %v = %+v, want one offer (the limit fits one agent)", now, res)
		}
		got = append(got, res.Offers[0].AgentID)
		if err := a.Decline(res.Offers[0].ID, 0, now); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
	}
	if want := []string{"a1", "a2", "a3", "a1"}; !slices.Equal(got, want) {
		t.Fatalf("agents offered = %v, want %v", got, want)
	}
}

type heapKey struct {
	key int
	id  int
	idx int
}

func (h *heapKey) before(o *heapKey) bool {
	if h.key != o.key {
		return h.key < o.key
	}
	return h.id < o.id
}

func (h *heapKey) setIndex(i int) { h.idx = i }

// TestHeap checks the heap against sorting under random pushes, pops and
// key changes.
func TestHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h minHeap[*heapKey]
	var live []*heapKey
	for i := range 200 {
		h.add(&heapKey{key: rng.IntN(50), id: i})
	}
	h.init()
	live = append(live, h.items...)
	nextID := 200
	for step := range 5000 {
		switch rng.IntN(3) {
		case 0:
			x := &heapKey{key: rng.IntN(50), id: nextID}
			nextID++
			h.push(x)
			live = append(live, x)
		case 1:
			if len(live) == 0 {
				continue
			}
			x := live[rng.IntN(len(live))]
			x.key = rng.IntN(50)
			h.fix(x.idx)
		case 2:
			if len(live) == 0 {
				continue
			}
			want := slices.MinFunc(live, func(x, y *heapKey) int {
				if x.before(y) {
					return -1
				}
				return 1
			})
			got := h.pop()
			if got != want {
				t.Fatalf("step %d: pop = %+v, want %+v", step, *got, *want)
			}
			if got.idx != -1 {
				t.Fatalf("step %d: popped item keeps index %d", step, got.idx)
			}
			live = slices.DeleteFunc(live, func(x *heapKey) bool { return x == got })
		}
		for i, x := range h.items {
			if x.idx != i {
				t.Fatalf("step %d: item at %d believes it is at %d", step, i, x.idx)
			}
		}
		if h.len() != len(live) {
			t.Fatalf("step %d: heap holds %d, want %d", step, h.len(), len(live))
		}
	}
}

// TestViewsAreCopies checks that callers cannot reach into the allocator
// through what it returns.
func TestViewsAreCopies(t *testing.T) {
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]string{"rack": "r1"}
	if err := a.AddAgent(Agent{ID: "a1", Attributes: attrs, Dedicated: res(2, 2)}); err != nil {
		t.Fatal(err)
	}
	attrs["rack"] = "changed by caller"
	v, _ := a.Agent("a1")
	if v.Attributes["rack"] != "r1" {
		t.Fatalf("agent attributes follow the caller's map: %v", v.Attributes)
	}
	v.Attributes["rack"] = "changed through view"
	if v2, _ := a.Agent("a1"); v2.Attributes["rack"] != "r1" {
		t.Fatalf("agent attributes changed through a view: %v", v2.Attributes)
	}
	if _, ok := a.Agent("a9"); ok {
		t.Fatal("view of an unknown agent")
	}
}

// TestOfferLookup checks that offers are found by the exact id they were
// given, also after removals have compacted the book.
func TestOfferLookup(t *testing.T) {
	a, err := New(Config{OfferIDPrefix: "m7-"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if err := a.AddAgent(Agent{ID: fmt.Sprintf("a%03d", i), Dedicated: res(1, 1)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.AddFramework(Framework{ID: "f"}); err != nil {
		t.Fatal(err)
	}
	now := epoch()
	if got := len(a.Allocate(now).Offers); got != 300 {
		t.Fatalf("made %d offers, want 300", got)
	}
	// Decline all but every tenth: enough holes to compact the book.
	for i := 1; i <= 300; i++ {
		if i%10 != 0 {
			if err := a.Decline(fmt.Sprintf("m7-%d", i), 0, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(a.book.slots) >= 300 {
		t.Fatalf("book still has %d slots for %d offers: never compacted", len(a.book.slots), a.book.live)
	}
	tests := []struct {
		id   string
		want bool
	}{
		{"m7-10", true},
		{"m7-300", true},
		{"m7-11", false},   // declined
		{"m7-010", false},  // same number, not the id given
		{"m7-+10", false},  // same number, not the id given
		{"o10", false},     // another prefix
		{"m7-", false},     // no number
		{"m7-9999", false}, // never made
		{"", false},
	}
	for _, tt := range tests {
		o, ok := a.Offer(tt.id)
		if ok != tt.want {
			t.Errorf("Offer(%q) found = %v, want %v", tt.id, ok, tt.want)
		}
		if ok && o.ID != tt.id {
			t.Errorf("Offer(%q) returned offer %q", tt.id, o.ID)
		}
	}
	if err := checkInvariants(a); err != nil {
		t.Fatal(err)
	}
	if got := len(a.Offers()); got != 30 {
		t.Fatalf("Offers() lists %d, want 30", got)
	}
}

// TestFrameworksView: each framework's outstanding offers and what it
// holds, by id; an answered offer leaves the count.
func TestFrameworksView(t *testing.T) {
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a1", "a2", "a3"} {
		if err := a.AddAgent(Agent{ID: id, Dedicated: res(2, 2)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, fw := range []Framework{{ID: "zeta", Role: "batch"}, {ID: "alpha", Suppressed: true}} {
		if err := a.AddFramework(fw); err != nil {
			t.Fatal(err)
		}
	}
	now := epoch()
	offers := a.Allocate(now).Offers
	if len(offers) != 3 {
		t.Fatalf("made %d offers, want one per agent", len(offers))
	}
	if err := a.Decline(offers[0].ID, 0, now); err != nil {
		t.Fatal(err)
	}
	got := a.Frameworks()
	if len(got) != 2 || got[0].ID != "alpha" || got[1].ID != "zeta" {
		t.Fatalf("frameworks %+v, want alpha then zeta", got)
	}
	if got[0].Offers != 0 || !got[0].Allocated.Sum().Empty() || got[0].Role != DefaultRole || !got[0].Suppressed {
		t.Errorf("the suppressed framework: %+v", got[0])
	}
	if got[1].Offers != 2 || got[1].Allocated[Dedicated] != res(4, 4) || got[1].Role != "batch" {
		t.Errorf("the framework holding two offers: %+v", got[1])
	}
}
