package store

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// Every kind the master keeps, with the ids its documents have: the keys
// must round-trip, stay one segment, and keep the ids of the plain
// charset as they are (the layout existing data was written in).
func TestKindsRoundTrip(t *testing.T) {
	ids := map[Kind][]string{
		Agents:     {"a-17", "2026-12-03T09.19.03Z-abc"},
		Apps:       {"/web", "/prod/db/primary", "/a b%c"},
		Attributes: {"host-1", "h1.example.com", "10.0.0.7", "fe80::1"},
		Frameworks: {"fw-1", "e2e-queue.7"},
		Jobs:       {"reports.daily", "etl"},
		JobState:   {"reports.daily", "etl"},
	}
	kinds := Kinds()
	if len(kinds) != len(ids) {
		t.Fatalf("Kinds() = %v, the test knows %d kinds", kinds, len(ids))
	}
	if !slices.IsSorted(kinds) {
		t.Errorf("Kinds() = %v, want key order", kinds)
	}
	for _, k := range kinds {
		if err := checkKind(string(k)); err != nil {
			t.Errorf("kind %q: %v", k, err)
		}
		if len(ids[k]) == 0 {
			t.Errorf("kind %q: no test ids", k)
		}
		for _, id := range ids[k] {
			key := k.Key(id)
			if err := checkKindID(string(k), key); err != nil {
				t.Errorf("%s %q: key %q: %v", k, id, key, err)
			}
			back, err := k.ID(key)
			if err != nil || back != id {
				t.Errorf("%s %q: key %q reads back as %q, %v", k, id, key, back, err)
			}
			if !strings.ContainsAny(id, "/ %:") && key != id {
				t.Errorf("%s %q: key %q, want the id itself", k, id, key)
			}
		}
	}
	if _, err := Apps.ID("%zz"); err == nil || !strings.Contains(err.Error(), "%zz") {
		t.Errorf("a key that is no escaped id: %v, want an error naming it", err)
	}
}

// Docs reads and writes by id through a real store: the key is the
// kind's, and List and Watch give the ids back.
func TestDocsByID(t *testing.T) {
	s := openEmbedded(t, "")
	ctx := testCtx(t)
	type doc struct{ N int }
	d := s.Docs(Apps)
	rev, err := d.ListRev(ctx, func(string, []byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	watch := d.Watch(ctx, rev+1)
	if err := d.Put(ctx, "/prod/web", doc{N: 1}); err != nil {
		t.Fatal(err)
	}
	var got doc
	if found, err := s.Get(ctx, string(Apps), "%2Fprod%2Fweb", &got); err != nil || !found || got.N != 1 {
		t.Fatalf("raw key: %+v, %v, %v; want the document at the escaped id", got, found, err)
	}
	if found, err := d.Get(ctx, "/prod/web", &got); err != nil || !found || got.N != 1 {
		t.Fatalf("Get by id: %+v, %v, %v", got, found, err)
	}
	var listed []string
	if err := d.List(ctx, func(id string, _ []byte) error { listed = append(listed, id); return nil }); err != nil || !slices.Equal(listed, []string{"/prod/web"}) {
		t.Fatalf("List ids %v, %v", listed, err)
	}
	if ev := nextEvent(t, watch); ev.Err != nil || ev.ID != "/prod/web" || ev.Deleted {
		t.Fatalf("watch event %+v, want the put of /prod/web", ev)
	}
	if err := d.Delete(ctx, "/prod/web"); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, watch); ev.ID != "/prod/web" || !ev.Deleted {
		t.Fatalf("watch event %+v, want the delete of /prod/web", ev)
	}
	if found, err := d.Get(ctx, "/prod/web", &got); err != nil || found {
		t.Fatalf("after Delete: found %v, %v", found, err)
	}
	// A watch ends with its context, and its channel closes.
	wctx, cancel := context.WithCancel(ctx)
	w := s.Docs(Agents).Watch(wctx, 0)
	cancel()
	deadline := time.After(10 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-w:
		case <-deadline:
			t.Fatal("the watch did not end within 10s of its context")
		}
	}
}
