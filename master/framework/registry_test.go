package framework

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
)

// idle is a Framework that wants nothing.
type idle string

func (f idle) ID() string                                       { return string(f) }
func (idle) WantsOffers() bool                                  { return false }
func (idle) Offers(o []Offer, _ time.Time) ([]Launch, []string) { return nil, nil }
func (idle) NoOffers(func() []Offer, time.Time)                 {}
func (idle) Update(api.TaskStatus, string, map[string]string, time.Time) []string {
	return nil
}
func (idle) Tick(time.Time) []string { return nil }
func (idle) Hold(string, time.Time)  {}
func (idle) ForgetAgent(string)      {}

func builtin(id string) Builtin {
	return Builtin{ID: id, New: func(context.Context) (Framework, error) { return idle(id), nil }}
}

func TestRegistryOrderAndLookup(t *testing.T) {
	var r Registry
	for _, id := range []string{"b", "a", "c"} {
		if err := r.Register(builtin(id)); err != nil {
			t.Fatal(err)
		}
	}
	if b, ok := r.Lookup("a"); !ok || b.Name != "a" {
		t.Fatalf("Lookup(a) = %+v, %v: want the registration, named after its id", b, ok)
	}
	if _, ok := r.Lookup("d"); ok {
		t.Fatal("Lookup(d) found a framework never registered")
	}
	run, err := r.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range run.Entries() {
		ids = append(ids, e.Framework.ID())
	}
	if !slices.Equal(ids, []string{"b", "a", "c"}) {
		t.Fatalf("started %v, want the registration order", ids)
	}
	if run.Get("c") == nil || run.Get("d") != nil {
		t.Fatalf("Get: c %v, d %v", run.Get("c"), run.Get("d"))
	}
	var none *Running
	if none.Entries() != nil || none.Get("a") != nil {
		t.Fatal("a nil Running is not empty")
	}
}

func TestRegistryRefuses(t *testing.T) {
	var r Registry
	if err := r.Register(builtin("a")); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]Builtin{
		"empty id": {Name: "x", New: builtin("x").New},
		"no New":   {ID: "x"},
		"twice":    builtin("a"),
	} {
		if err := r.Register(b); err == nil {
			t.Errorf("%s: registered", name)
		}
	}
	if _, err := r.Started(idle("a"), idle("a")); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("started twice: %v", err)
	}
	if _, err := r.Started(idle("z")); err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Errorf("unregistered: %v", err)
	}
	if _, err := r.Started(); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Errorf("missing: %v", err)
	}
	// A framework built under another id than its registration's.
	var odd Registry
	if err := odd.Register(Builtin{ID: "a", New: func(context.Context) (Framework, error) { return idle("b"), nil }}); err != nil {
		t.Fatal(err)
	}
	if _, err := odd.Start(context.Background()); err == nil {
		t.Error("a framework answering to another id started")
	}
	boom := errors.New("boom")
	var failing Registry
	if err := failing.Register(Builtin{ID: "f", New: func(context.Context) (Framework, error) { return nil, boom }}); err != nil {
		t.Fatal(err)
	}
	if _, err := failing.Start(context.Background()); !errors.Is(err, boom) || !strings.Contains(err.Error(), "built-in framework f:") {
		t.Errorf("failing New: %v, want it wrapped with the id", err)
	}
}
