package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// ErrNoLeader is returned by Election.Leader when no candidate leads.
var ErrNoLeader = errors.New("no leader elected")

const (
	// DefaultElectionName is used when ElectionConfig.Name is empty.
	DefaultElectionName = "leader"
	// DefaultElectionTTL is the session lease TTL when ElectionConfig.TTL
	// is zero; it is roughly how long a crashed leader blocks failover.
	DefaultElectionTTL = 5 * time.Second

	// termBackoff is the pause after a term ends before campaigning again,
	// so a lead func that returns at once cannot make Run spin.
	termBackoff = 200 * time.Millisecond
	// Errors (etcd unreachable, session lost) back off exponentially
	// between these bounds so an etcd outage is not hammered.
	errBackoffMin = 100 * time.Millisecond
	errBackoffMax = 5 * time.Second
)

// ElectionConfig configures Store.NewElection.
type ElectionConfig struct {
	// Name of the election, default "leader"; candidates with the same
	// name (and Store prefix) compete with each other.
	Name string
	// ID is this candidate's identity, e.g. its advertised URL: the value
	// standbys read through Leader to redirect. Required.
	ID string
	// TTL of the session lease, default 5 s, rounded up to whole seconds
	// (min 1) because etcd leases have second granularity.
	TTL time.Duration
	// Logger, default the Store's logger.
	Logger *slog.Logger
}

// Election is one candidate in a leader election. Its Run method
// campaigns; the other methods are safe to call concurrently with it.
type Election struct {
	s   *Store
	cfg ElectionConfig
	ttl int    // lease TTL in seconds
	pfx string // election prefix without trailing "/", as concurrency wants
	log *slog.Logger

	running atomic.Bool

	mu      sync.Mutex
	term    uint64 // incremented per term so a late clear cannot undo a newer term
	leading bool
	key     string // election key of the current term; "" when not leading
	rev     int64  // its CreateRevision
}

// NewElection prepares a candidate; nothing happens in etcd until Run.
func (s *Store) NewElection(cfg ElectionConfig) (*Election, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultElectionName
	}
	if strings.Contains(cfg.Name, "/") {
		return nil, fmt.Errorf("store: invalid election name %q: must not contain %q", cfg.Name, "/")
	}
	if cfg.ID == "" {
		return nil, fmt.Errorf("store: election %q: candidate ID is required (standbys redirect to it)", cfg.Name)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultElectionTTL
	}
	ttl := max(int((cfg.TTL+time.Second-1)/time.Second), 1)
	log := cfg.Logger
	if log == nil {
		log = s.log
	}
	return &Election{
		s:   s,
		cfg: cfg,
		ttl: ttl,
		pfx: s.prefix + electionKind + "/" + cfg.Name,
		log: log.With("election", cfg.Name, "id", cfg.ID),
	}, nil
}

// IsLeader reports whether this candidate currently leads. It turns false
// as soon as the leader context passed to lead is cancelled.
func (e *Election) IsLeader() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leading
}

// Guard returns a condition that holds only while this candidate's
// election key still exists with the CreateRevision it won with. Passed to
// Store.Put/Delete it makes the write atomic with "I am still the leader",
// so a deposed leader that has not noticed yet cannot overwrite its
// successor's state. Called while not leading, it returns a condition that
// never holds.
func (e *Election) Guard() clientv3.Cmp {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.leading {
		// No key ever has a negative creation revision.
		return clientv3.Compare(clientv3.CreateRevision(e.pfx+"/"), "<", 0)
	}
	return clientv3.Compare(clientv3.CreateRevision(e.key), "=", e.rev)
}

// Leader returns the current leader's ID: the value of the oldest key in
// the election, which is exactly the one concurrency.Election treats as
// leader. It works without Run, so pure observers can use it.
func (e *Election) Leader(ctx context.Context) (string, error) {
	resp, err := e.s.client.Get(ctx, e.pfx+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return "", fmt.Errorf("store: election leader under %s/: %w", e.pfx, err)
	}
	if len(resp.Kvs) == 0 {
		return "", ErrNoLeader
	}
	return string(resp.Kvs[0].Value), nil
}

// Run campaigns until ctx is done. Each time this candidate is elected it
// calls lead with a context that is cancelled as soon as leadership is lost
// (session lease lost, election key deleted, or ctx done); lead must return
// promptly then. When lead returns, Run resigns if still leader and
// campaigns again after a short pause. Run returns nil once ctx is done,
// after resigning and revoking its lease so a standby takes over at once.
// It returns an error only if the Store is closed under it or Run is
// already running for this Election.
func (e *Election) Run(ctx context.Context, lead func(ctx context.Context)) error {
	if !e.running.CompareAndSwap(false, true) {
		return fmt.Errorf("store: election %q: Run is already active for candidate %q", e.cfg.Name, e.cfg.ID)
	}
	defer e.running.Store(false)

	var sess *concurrency.Session
	defer func() {
		if sess != nil {
			// Revoking the lease removes any key we still hold; a
			// failure only means the lease will expire by itself.
			if err := sess.Close(); err != nil && e.s.client.Ctx().Err() == nil {
				e.log.Warn("election: revoke session lease", "lease", fmt.Sprintf("%x", sess.Lease()), "err", err)
			}
		}
	}()

	backoff := errBackoffMin
	for {
		if ctx.Err() != nil {
			return nil
		}
		if err := e.s.client.Ctx().Err(); err != nil {
			return fmt.Errorf("store: election %q under %s/: store closed: %w", e.cfg.Name, e.pfx, err)
		}

		// A session outlives terms (resigning deletes only the key) but
		// not its lease: once the keepalive stops, start a fresh one.
		if sess != nil && isDone(sess.Done()) {
			sess.Orphan()
			sess = nil
		}
		if sess == nil {
			var err error
			if sess, err = e.newSession(ctx); err != nil {
				if ctx.Err() == nil {
					e.log.Warn("election: create session", "err", err, "retry_in", backoff)
				}
				sleepCtx(ctx, backoff)
				backoff = min(backoff*2, errBackoffMax)
				continue
			}
		}

		elected, err := e.runTerm(ctx, sess, lead)
		switch {
		case err != nil:
			if ctx.Err() == nil && e.s.client.Ctx().Err() == nil {
				e.log.Warn("election: campaign", "err", err, "retry_in", backoff)
			}
			sleepCtx(ctx, backoff)
			backoff = min(backoff*2, errBackoffMax)
		case elected:
			backoff = errBackoffMin
			sleepCtx(ctx, termBackoff)
		}
	}
}

// newSession grants a lease under ctx (so an unreachable etcd cannot block
// Run past its context) and starts keeping it alive.
func (e *Election) newSession(ctx context.Context) (*concurrency.Session, error) {
	lease, err := e.s.client.Grant(ctx, int64(e.ttl))
	if err != nil {
		return nil, fmt.Errorf("grant %ds lease: %w", e.ttl, err)
	}
	// The session keeps its lease alive until Close/Orphan or until the
	// client closes, independent of ctx: Run closes it on every exit path.
	sess, err := concurrency.NewSession(e.s.client, concurrency.WithTTL(e.ttl), concurrency.WithLease(lease.ID))
	if err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(e.ttl)*time.Second)
		_, _ = e.s.client.Revoke(rctx, lease.ID)
		cancel()
		return nil, fmt.Errorf("session on lease %x: %w", lease.ID, err)
	}
	return sess, nil
}

// runTerm campaigns once and, if elected, leads until leadership ends. It
// reports whether this candidate was elected; err is set when the campaign
// failed for a reason other than ctx ending or the session being lost.
func (e *Election) runTerm(ctx context.Context, sess *concurrency.Session, lead func(context.Context)) (elected bool, err error) {
	el := concurrency.NewElection(sess, e.pfx)

	// Campaign must also stop when the session dies: our key then
	// vanishes with the lease, and waiting on would be waiting as nobody.
	cctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(sess.Ctx(), cancel)
	// On cancellation Campaign withdraws its key under the client's own
	// context, which waits for as long as etcd is unreachable: Run would
	// not return on its context during an outage. So it runs aside and
	// is abandoned on cancellation; it ends when that withdrawal does, at
	// the latest when the Store closes, and the key goes with the
	// session's lease meanwhile (Run closes the session).
	campaigned := make(chan error, 1)
	go func() { campaigned <- el.Campaign(cctx, e.cfg.ID) }()
	select {
	case err = <-campaigned:
	case <-cctx.Done():
		select {
		case err = <-campaigned:
		default:
			err = cctx.Err()
		}
	}
	stop()
	cancel()
	if err != nil {
		// On cancellation Campaign has already withdrawn our key.
		if ctx.Err() != nil || isDone(sess.Done()) {
			return false, nil
		}
		return false, fmt.Errorf("campaign under %s/: %w", e.pfx, err)
	}
	key, rev := el.Key(), el.Rev()

	// Confirm the key is still ours after the wait (the lease may have
	// expired just as the campaign returned) and learn the revision to
	// watch from. Watching from rev itself could fail as compacted if we
	// queued for long.
	resp, err := e.s.client.Get(ctx, key)
	if err != nil || len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision != rev {
		e.resign(ctx, el)
		if err != nil && ctx.Err() == nil {
			return false, fmt.Errorf("confirm election key %s: %w", key, err)
		}
		return false, nil
	}

	leaderCtx, lost := context.WithCancel(ctx)
	defer lost()
	stopSess := context.AfterFunc(sess.Ctx(), lost)
	defer stopSess()

	term := e.setLeading(key, rev)
	// IsLeader and Guard must turn false the moment leadership is lost,
	// not only when lead gets around to returning.
	stopClear := context.AfterFunc(leaderCtx, func() { e.clearLeading(term) })
	defer stopClear()

	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		e.watchKey(leaderCtx, key, resp.Header.Revision+1, lost)
	}()

	e.log.Info("elected leader", "key", key, "revision", rev, "ttl_s", e.ttl)
	lead(leaderCtx)
	lost()
	<-watchDone
	e.clearLeading(term)

	// Resign is a delete guarded by our CreateRevision, so it is a no-op
	// if we were already deposed and immediate handover otherwise.
	e.resign(ctx, el)
	e.log.Info("leadership ended", "key", key)
	return true, nil
}

// resign withdraws from the election. It runs even when ctx is done (that
// is the clean-stop case), bounded by the TTL after which the lease would
// have expired anyway.
func (e *Election) resign(ctx context.Context, el *concurrency.Election) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(e.ttl)*time.Second)
	defer cancel()
	if err := el.Resign(rctx); err != nil && e.s.client.Ctx().Err() == nil {
		e.log.Warn("election: resign", "err", err)
	}
}

// watchKey calls lost when the election key is deleted (an operator, or a
// lease revoked from elsewhere) or the watch breaks, because then nothing
// vouches for our leadership any more. It returns when ctx is done.
func (e *Election) watchKey(ctx context.Context, key string, fromRev int64, lost func()) {
	for resp := range e.s.client.Watch(ctx, key, clientv3.WithRev(fromRev)) {
		if err := resp.Err(); err != nil {
			if ctx.Err() == nil {
				e.log.Warn("election: watch on own key failed; stepping down", "key", key, "err", err)
			}
			lost()
			return
		}
		for _, ev := range resp.Events {
			if ev.Type == mvccpb.DELETE {
				e.log.Warn("election: own key deleted; stepping down", "key", key)
				lost()
				return
			}
		}
	}
	// Closed without an error: ctx done or client closed.
	lost()
}

func (e *Election) setLeading(key string, rev int64) uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.term++
	e.leading, e.key, e.rev = true, key, rev
	return e.term
}

func (e *Election) clearLeading(term uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.term == term {
		e.leading, e.key, e.rev = false, "", 0
	}
}

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// sleepCtx sleeps for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
