package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// candidate is one master competing in an election, with its own Store
// (client and session) like a separate process.
type candidate struct {
	id     string
	st     *Store
	el     *Election
	cancel context.CancelFunc
	done   chan error // Run's result
}

// leadCounter tracks how many lead funcs run at once across candidates.
type leadCounter struct {
	now, max atomic.Int32
}

func (c *leadCounter) lead(ctx context.Context) {
	n := c.now.Add(1)
	for {
		m := c.max.Load()
		if n <= m || c.max.CompareAndSwap(m, n) {
			break
		}
	}
	<-ctx.Done()
	c.now.Add(-1)
}

func startCandidate(t *testing.T, endpoints []string, id string, ttl time.Duration, lead func(context.Context)) *candidate {
	t.Helper()
	st := openExternal(t, endpoints)
	el, err := st.NewElection(ElectionConfig{ID: id, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &candidate{id: id, st: st, el: el, cancel: cancel, done: make(chan error, 1)}
	go func() { c.done <- el.Run(ctx, lead) }()
	// Registered after the Store's Close, so it runs first: Run stops
	// before its client goes away.
	t.Cleanup(func() {
		cancel()
		select {
		case <-c.done:
		case <-time.After(20 * time.Second):
			t.Errorf("candidate %s: Run did not return after cancel", id)
		}
	})
	return c
}

// waitLeader polls until exactly one of cands leads and returns it.
func waitLeader(t *testing.T, cands []*candidate) *candidate {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var leaders []*candidate
		for _, c := range cands {
			if c.el.IsLeader() {
				leaders = append(leaders, c)
			}
		}
		if len(leaders) > 1 {
			t.Fatalf("%d candidates lead at once", len(leaders))
		}
		if len(leaders) == 1 {
			return leaders[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no leader elected within 20s")
	return nil
}

func without(cands []*candidate, drop *candidate) []*candidate {
	var out []*candidate
	for _, c := range cands {
		if c != drop {
			out = append(out, c)
		}
	}
	return out
}

func TestElectionFailover(t *testing.T) {
	base := openEmbedded(t, "")
	ctx := testCtx(t)
	var counter leadCounter
	var cands []*candidate
	for i := range 3 {
		cands = append(cands, startCandidate(t, base.Endpoints(), fmt.Sprintf("http://master-%d:5050", i), time.Second, counter.lead))
	}

	first := waitLeader(t, cands)
	for _, c := range cands {
		id, err := c.el.Leader(ctx)
		if err != nil || id != first.id {
			t.Fatalf("%s sees leader %q, %v; want %q", c.id, id, err, first.id)
		}
	}
	oldGuard := first.el.Guard()
	if err := first.st.Put(ctx, "state", "owner", doc{Name: first.id}, oldGuard); err != nil {
		t.Fatalf("guarded write by the leader: %v", err)
	}

	// Clean stop: the leader resigns and another takes over at once.
	first.cancel()
	if err := <-first.done; err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	first.done <- nil // for the cleanup
	if first.el.IsLeader() {
		t.Fatal("stopped candidate still reports leadership")
	}
	rest := without(cands, first)
	second := waitLeader(t, rest)
	if id, err := first.el.Leader(ctx); err != nil || id != second.id {
		t.Fatalf("stopped candidate sees leader %q, %v; want %q", id, err, second.id)
	}

	// The deposed leader cannot write, with its old guard or a new one.
	for name, err := range map[string]error{
		"Put with old guard":    first.st.Put(ctx, "state", "owner", doc{Name: "stale"}, oldGuard),
		"Delete with old guard": first.st.Delete(ctx, "state", "owner", oldGuard),
		"Put with new guard":    first.st.Put(ctx, "state", "owner", doc{Name: "stale"}, first.el.Guard()),
	} {
		if !errors.Is(err, ErrNotLeader) {
			t.Errorf("%s = %v, want ErrNotLeader", name, err)
		}
	}
	if err := second.st.Put(ctx, "state", "owner", doc{Name: second.id}, second.el.Guard()); err != nil {
		t.Fatalf("guarded write by the new leader: %v", err)
	}
	var owner doc
	if _, err := base.Get(ctx, "state", "owner", &owner); err != nil || owner.Name != second.id {
		t.Fatalf("owner = %+v, %v; want %s", owner, err, second.id)
	}

	// Crash: close the leader's Store without resigning. Its lease must
	// expire before the last candidate can take over.
	crashGuard := second.el.Guard()
	start := time.Now()
	if err := second.st.Close(); err != nil {
		t.Fatal(err)
	}
	third := waitLeader(t, without(rest, second))
	t.Logf("failover after crash took %s", time.Since(start).Round(10*time.Millisecond))
	select {
	case err := <-second.done:
		if err == nil {
			t.Error("Run on a closed Store returned nil, want an error")
		}
		second.done <- err
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its Store was closed")
	}
	if err := third.st.Put(ctx, "state", "owner", doc{}, crashGuard); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("write with the crashed leader's guard = %v, want ErrNotLeader", err)
	}
	if id, err := third.el.Leader(ctx); err != nil || id != third.id {
		t.Fatalf("Leader() = %q, %v; want %q", id, err, third.id)
	}

	if m := counter.max.Load(); m != 1 {
		t.Fatalf("at most %d lead funcs ran at once, want exactly 1", m)
	}
}

func TestElectionReelectAndCleanStop(t *testing.T) {
	st := openEmbedded(t, "")
	ctx := testCtx(t)
	el, err := st.NewElection(ElectionConfig{Name: "sched", ID: "me", TTL: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if el.ttl != 2 {
		t.Fatalf("TTL 1.5s rounded to %ds, want 2", el.ttl)
	}
	if _, err := el.Leader(ctx); !errors.Is(err, ErrNoLeader) {
		t.Fatalf("Leader before Run = %v, want ErrNoLeader", err)
	}
	if err := st.Put(ctx, "state", "x", doc{}, el.Guard()); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("write guarded by a never-elected candidate = %v, want ErrNotLeader", err)
	}

	// A lead func that returns at once: Run resigns and wins again.
	var terms atomic.Int32
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- el.Run(runCtx, func(ctx context.Context) {
			if !el.IsLeader() {
				t.Error("IsLeader false inside lead")
			}
			if err := st.Put(ctx, "state", "x", doc{N: int(terms.Load())}, el.Guard()); err != nil {
				t.Errorf("guarded write inside lead: %v", err)
			}
			terms.Add(1)
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	deadline := time.Now().Add(20 * time.Second)
	for terms.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := terms.Load(); n < 3 {
		t.Fatalf("only %d terms within 20s", n)
	}
	if err := el.Run(runCtx, func(context.Context) {}); err == nil || !strings.Contains(err.Error(), "already") {
		t.Fatalf("second concurrent Run = %v, want an error", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	done <- nil
	// A clean stop leaves no key behind, so nobody waits for a lease.
	if _, err := el.Leader(ctx); !errors.Is(err, ErrNoLeader) {
		t.Fatalf("Leader after clean stop = %v, want ErrNoLeader", err)
	}
	if el.IsLeader() {
		t.Fatal("IsLeader after Run returned")
	}
}

func TestNewElectionConfig(t *testing.T) {
	st := openEmbedded(t, "")
	if _, err := st.NewElection(ElectionConfig{}); err == nil {
		t.Error("NewElection without ID succeeded")
	}
	if _, err := st.NewElection(ElectionConfig{Name: "a/b", ID: "x"}); err == nil || !strings.Contains(err.Error(), "a/b") {
		t.Errorf("NewElection with a bad name = %v", err)
	}
	el, err := st.NewElection(ElectionConfig{ID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if el.ttl != 5 || el.pfx != "/headroom/_election/leader" {
		t.Errorf("defaults: ttl %d, prefix %q", el.ttl, el.pfx)
	}
	el, err = st.NewElection(ElectionConfig{ID: "x", TTL: time.Millisecond})
	if err != nil || el.ttl != 1 {
		t.Errorf("TTL 1ms → %d s, %v; want 1", el.ttl, err)
	}
}

// TestNoGoroutinesLeft checks that watches, elections and the embedded
// server's helpers all stop with their contexts and Close.
func TestNoGoroutinesLeft(t *testing.T) {
	ctx := testCtx(t)
	st, err := Open(ctx, Config{DataDir: t.TempDir(), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithCancel(ctx)
	ch := st.Watch(wctx, "jobs", 0)
	el, err := st.NewElection(ElectionConfig{ID: "me", TTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(ctx)
	elected := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- el.Run(rctx, func(ctx context.Context) {
			close(elected)
			<-ctx.Done()
		})
	}()
	<-elected
	rcancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wcancel()
	for range ch {
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		var ours []string
		for _, g := range strings.Split(stacks, "\n\n") {
			if strings.Contains(g, "headroom/master/store.") && !strings.Contains(g, "TestNoGoroutinesLeft") &&
				!strings.Contains(g, "testing.tRunner") {
				ours = append(ours, g)
			}
		}
		if len(ours) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines of this package still running:\n%s", len(ours), strings.Join(ours, "\n\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
