package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

type doc struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

// testLogger shows only warnings and errors so a passing run stays quiet.
func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// openEmbedded opens a Store with an embedded etcd in dir (a fresh temp dir
// when empty) and closes it at cleanup.
func openEmbedded(t *testing.T, dir string) *Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := Open(testCtx(t), Config{DataDir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatalf("Open embedded: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func openExternal(t *testing.T, endpoints []string) *Store {
	t.Helper()
	s, err := Open(testCtx(t), Config{Endpoints: endpoints, Logger: testLogger()})
	if err != nil {
		t.Fatalf("Open external %v: %v", endpoints, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestEmbeddedPutGetDelete(t *testing.T) {
	s := openEmbedded(t, "")
	ctx := testCtx(t)

	if eps := s.Endpoints(); len(eps) != 1 || !strings.HasPrefix(eps[0], "unix:///") {
		t.Fatalf("Endpoints() = %v, want one unix socket", eps)
	}

	if err := s.Put(ctx, "agents", "a1", doc{Name: "one", N: 1}); err != nil {
		t.Fatal(err)
	}
	var got doc
	found, err := s.Get(ctx, "agents", "a1", &got)
	if err != nil || !found || got != (doc{Name: "one", N: 1}) {
		t.Fatalf("Get = %v, %v, %+v", found, err, got)
	}
	raw, err := s.Client().Get(ctx, "/headroom/agents/a1")
	if err != nil || len(raw.Kvs) != 1 || string(raw.Kvs[0].Value) != `{"name":"one","n":1}` {
		t.Fatalf("raw key layout: %v %v", raw, err)
	}

	if err := s.Put(ctx, "agents", "a1", doc{Name: "uno", N: 2}); err != nil {
		t.Fatal(err)
	}
	if found, err := s.Get(ctx, "agents", "a1", &got); err != nil || !found || got.Name != "uno" {
		t.Fatalf("Get after overwrite = %v, %v, %+v", found, err, got)
	}

	if found, err := s.Get(ctx, "agents", "missing", &got); err != nil || found {
		t.Fatalf("Get missing = %v, %v", found, err)
	}

	if err := s.Delete(ctx, "agents", "a1"); err != nil {
		t.Fatal(err)
	}
	if found, err := s.Get(ctx, "agents", "a1", &got); err != nil || found {
		t.Fatalf("Get after delete = %v, %v", found, err)
	}
	if err := s.Delete(ctx, "agents", "a1"); err != nil {
		t.Fatalf("deleting a missing doc: %v", err)
	}

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestBadKindOrID(t *testing.T) {
	s := openEmbedded(t, "")
	ctx := testCtx(t)
	var v doc
	cases := []struct{ kind, id, mention string }{
		{"", "x", `""`},
		{"a/b", "x", `"a/b"`},
		{"_election", "x", `"_election"`},
		{"agents", "", `""`},
		{"agents", "x/y", `"x/y"`},
	}
	for _, c := range cases {
		for name, err := range map[string]error{
			"Put":    s.Put(ctx, c.kind, c.id, v),
			"Delete": s.Delete(ctx, c.kind, c.id),
			"Get":    func() error { _, err := s.Get(ctx, c.kind, c.id, &v); return err }(),
		} {
			if err == nil || !strings.Contains(err.Error(), c.mention) {
				t.Errorf("%s(%q, %q) = %v, want an error naming %s", name, c.kind, c.id, err, c.mention)
			}
		}
	}
	if err := s.List(ctx, "a/b", func(string, []byte) error { return nil }); err == nil {
		t.Error("List with a bad kind succeeded")
	}
	ev, ok := <-s.Watch(ctx, "", 0)
	if !ok || ev.Err == nil {
		t.Errorf("Watch with a bad kind: %+v, %v", ev, ok)
	}
	if err := s.Put(ctx, "agents", "x", func() {}); err == nil || !strings.Contains(err.Error(), "/headroom/agents/x") {
		t.Errorf("Put of an unencodable value = %v", err)
	}
}

func TestListPaging(t *testing.T) {
	s := openEmbedded(t, "")
	ctx := testCtx(t)
	const n = 1200 // more than two pages of listPageSize

	// Parallel writers: sequential fsynced puts would dominate the run.
	ids := make(chan int)
	errc := make(chan error, n)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range ids {
				errc <- s.Put(ctx, "tasks", fmt.Sprintf("t%05d", i), doc{N: i})
			}
		})
	}
	for i := range n {
		ids <- i
	}
	close(ids)
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Neighbouring kinds whose names share a prefix must not leak in.
	if err := s.Put(ctx, "task", "zz", doc{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "tasksx", "aa", doc{}); err != nil {
		t.Fatal(err)
	}

	for _, pageSize := range []int64{listPageSize, 7} {
		s.pageSize = pageSize
		var got []string
		rev, err := s.ListRev(ctx, "tasks", func(id string, raw []byte) error {
			if want := fmt.Sprintf(`{"name":"","n":%d}`, len(got)); string(raw) != want {
				return fmt.Errorf("doc %s = %s, want %s", id, raw, want)
			}
			got = append(got, id)
			return nil
		})
		if err != nil {
			t.Fatalf("page size %d: %v", pageSize, err)
		}
		if len(got) != n || !slices.IsSorted(got) || got[0] != "t00000" || got[n-1] != fmt.Sprintf("t%05d", n-1) {
			t.Fatalf("page size %d: listed %d ids (sorted %v), want %d", pageSize, len(got), slices.IsSorted(got), n)
		}
		if rev <= 0 {
			t.Fatalf("ListRev revision = %d", rev)
		}
	}

	stop := errors.New("stop")
	calls := 0
	err := s.List(ctx, "tasks", func(string, []byte) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("List with failing fn = %v after %d calls", err, calls)
	}
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)
	s, err := Open(ctx, Config{DataDir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "frameworks", "f1", doc{Name: "kept"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := openEmbedded(t, dir)
	var got doc
	if found, err := s2.Get(ctx, "frameworks", "f1", &got); err != nil || !found || got.Name != "kept" {
		t.Fatalf("after reopen: %v, %v, %+v", found, err, got)
	}
}

func TestExternalSharesData(t *testing.T) {
	a := openEmbedded(t, "")
	b := openExternal(t, a.Endpoints())
	ctx := testCtx(t)

	if err := b.Put(ctx, "agents", "from-b", doc{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	var got doc
	if found, err := a.Get(ctx, "agents", "from-b", &got); err != nil || !found || got.Name != "b" {
		t.Fatalf("a sees b's write: %v, %v, %+v", found, err, got)
	}
	if err := a.Put(ctx, "agents", "from-a", doc{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	if err := b.List(ctx, "agents", func(id string, _ []byte) error { ids = append(ids, id); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []string{"from-a", "from-b"}) {
		t.Fatalf("b lists %v", ids)
	}

	// A different prefix on the same etcd is a separate namespace.
	c, err := Open(ctx, Config{Endpoints: a.Endpoints(), Prefix: "/other", Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if c.Prefix() != "/other/" {
		t.Fatalf("Prefix() = %q", c.Prefix())
	}
	if found, err := c.Get(ctx, "agents", "from-a", &got); err != nil || found {
		t.Fatalf("other prefix sees headroom data: %v, %v", found, err)
	}
}

func TestUnreachableEndpoint(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there any more

	start := time.Now()
	s, err := Open(testCtx(t), Config{
		Endpoints:   []string{"http://" + addr},
		DialTimeout: 500 * time.Millisecond,
		Logger:      testLogger(),
	})
	elapsed := time.Since(start)
	if err == nil {
		_ = s.Close()
		t.Fatal("Open of a closed port succeeded")
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name the endpoint %s", err, addr)
	}
	if elapsed > 10*time.Second {
		t.Errorf("Open took %s with a 500ms dial timeout", elapsed)
	}
	t.Logf("error after %s: %v", elapsed.Round(time.Millisecond), err)
}

func TestOpenNeedsDataDir(t *testing.T) {
	if _, err := Open(testCtx(t), Config{}); err == nil {
		t.Fatal("Open without DataDir or Endpoints succeeded")
	}
}

func nextEvent(t *testing.T, ch <-chan Event) Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed early")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
	}
	return Event{}
}

func TestWatchOrder(t *testing.T) {
	s := openEmbedded(t, "")
	ctx := testCtx(t)
	if err := s.Put(ctx, "jobs", "old", doc{}); err != nil {
		t.Fatal(err)
	}
	// List then watch from the listing's revision + 1: the documented way
	// to follow a kind without gaps.
	rev, err := s.ListRev(ctx, "jobs", func(string, []byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	ch := s.Watch(wctx, "jobs", rev+1)

	if err := s.Put(ctx, "jobs", "a", doc{N: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "other", "x", doc{}); err != nil { // another kind: not seen
		t.Fatal(err)
	}
	if err := s.Put(ctx, "jobs", "b", doc{N: 2}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "jobs", "a"); err != nil {
		t.Fatal(err)
	}

	want := []struct {
		id      string
		deleted bool
		value   string
	}{{"a", false, `{"name":"","n":1}`}, {"b", false, `{"name":"","n":2}`}, {"a", true, ""}}
	last := rev
	for i, w := range want {
		ev := nextEvent(t, ch)
		if ev.Err != nil || ev.Kind != "jobs" || ev.ID != w.id || ev.Deleted != w.deleted || string(ev.Value) != w.value {
			t.Fatalf("event %d = %+v, want %+v", i, ev, w)
		}
		if ev.Revision <= last {
			t.Fatalf("event %d revision %d not after %d", i, ev.Revision, last)
		}
		last = ev.Revision
	}

	cancel()
	select {
	case ev, ok := <-ch:
		if ok {
			t.Fatalf("event after cancel: %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch channel not closed after cancel")
	}
}

func TestWatchCompacted(t *testing.T) {
	s := openEmbedded(t, "")
	ctx := testCtx(t)
	var first int64
	for i := range 3 {
		if err := s.Put(ctx, "jobs", "j", doc{N: i}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := s.Client().Get(ctx, s.Key("jobs", "j"))
	if err != nil {
		t.Fatal(err)
	}
	first = resp.Kvs[0].CreateRevision
	if _, err := s.Client().Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}

	ch := s.Watch(ctx, "jobs", first)
	ev := nextEvent(t, ch)
	if ev.Err == nil || !strings.Contains(ev.Err.Error(), "/headroom/jobs/") {
		t.Fatalf("watch from a compacted revision: %+v", ev)
	}
	if _, ok := <-ch; ok {
		t.Fatal("channel not closed after the error event")
	}
}
