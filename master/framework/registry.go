package framework

import (
	"context"
	"fmt"
)

// Builtin registers a Framework with the master: one value per framework,
// as node_exporter registers its collectors.
type Builtin struct {
	// ID is the framework's id. No external framework may subscribe
	// under it.
	ID string
	// Name names the framework in messages ("the master's own apps
	// framework").
	Name string
	// New builds the framework at the start of a term of leadership: a
	// framework that keeps state reloads it here. ctx ends with the term.
	New func(ctx context.Context) (Framework, error)
	// ReviveAfterTick revives or suppresses the framework's offers after
	// its Tick instead of at the start of the cycle: for a framework whose
	// waiting tasks launch only once a write its Tick starts has landed,
	// which an earlier offer would only be declined for.
	ReviveAfterTick bool
	// AfterTick, when set, runs after the framework's Tick and the kills
	// it asked for, with the master's lock held; the master's own
	// frameworks hand their changed state to the store there.
	AfterTick func()
}

// Registry is the master's list of built-in frameworks, in the order each
// cycle serves them. The zero value is empty; each term of the master
// builds one (master/term/builtins.go) and keeps it for its life.
type Registry struct {
	list []Builtin
}

// Register adds b; its id must be new.
func (r *Registry) Register(b Builtin) error {
	switch {
	case b.ID == "":
		return fmt.Errorf("built-in framework %q: empty id", b.Name)
	case b.New == nil:
		return fmt.Errorf("built-in framework %q: no New", b.ID)
	}
	if _, ok := r.Lookup(b.ID); ok {
		return fmt.Errorf("built-in framework %q: registered twice", b.ID)
	}
	if b.Name == "" {
		b.Name = b.ID
	}
	r.list = append(r.list, b)
	return nil
}

// Lookup returns the registration of id.
func (r *Registry) Lookup(id string) (Builtin, bool) {
	for _, b := range r.list {
		if b.ID == id {
			return b, true
		}
	}
	return Builtin{}, false
}

// Start builds every registered framework for a new term, in order.
func (r *Registry) Start(ctx context.Context) (*Running, error) {
	fws := make([]Framework, 0, len(r.list))
	for _, b := range r.list {
		fw, err := b.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("starting built-in framework %s: %w", b.ID, err)
		}
		fws = append(fws, fw)
	}
	return r.Started(fws...)
}

// Started pairs frameworks already built with their registrations: every
// registered framework once, in any order.
func (r *Registry) Started(fws ...Framework) (*Running, error) {
	run := &Running{list: make([]Entry, len(r.list))}
	for _, fw := range fws {
		i := r.index(fw.ID())
		switch {
		case i < 0:
			return nil, fmt.Errorf("built-in framework %q: not registered", fw.ID())
		case run.list[i].Framework != nil:
			return nil, fmt.Errorf("built-in framework %q: started twice", fw.ID())
		}
		run.list[i] = Entry{Builtin: r.list[i], Framework: fw}
	}
	for i, e := range run.list {
		if e.Framework == nil {
			return nil, fmt.Errorf("built-in framework %q: not started", r.list[i].ID)
		}
	}
	return run, nil
}

func (r *Registry) index(id string) int {
	for i, b := range r.list {
		if b.ID == id {
			return i
		}
	}
	return -1
}

// Entry is one started framework with its registration.
type Entry struct {
	Builtin   Builtin
	Framework Framework
}

// Running is one term's built-in frameworks, in registration order.
type Running struct {
	list []Entry
}

// Entries returns the frameworks in registration order.
func (r *Running) Entries() []Entry {
	if r == nil {
		return nil
	}
	return r.list
}

// Get returns the framework of id, or nil when none is registered.
func (r *Running) Get(id string) Framework {
	for _, e := range r.Entries() {
		if e.Builtin.ID == id {
			return e.Framework
		}
	}
	return nil
}
