package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
)

// ErrNotLeader is returned by guarded writes (Put, Delete) whose guards no
// longer hold, i.e. the caller has been deposed since it read its Guard.
var ErrNotLeader = errors.New("not the leader")

const (
	// DefaultPrefix is the key prefix used when Config.Prefix is empty.
	DefaultPrefix = "/headroom/"
	// DefaultDialTimeout bounds the first round trip to etcd in Open.
	DefaultDialTimeout = 5 * time.Second

	// listPageSize is how many documents one List request fetches. etcd
	// keeps a whole range response in memory on both ends and caps request
	// sizes, so 50k documents must not come back in one response.
	listPageSize = 500

	// reservedKindPrefix marks kinds owned by this package (elections), so
	// callers cannot clobber them through Put/Delete.
	reservedKindPrefix = "_"
	electionKind       = "_election"
)

// Config configures Open.
type Config struct {
	// DataDir holds the embedded etcd (DataDir/etcd) when Endpoints is empty.
	DataDir string
	// Endpoints of an existing etcd cluster; empty = start an embedded
	// single-node etcd.
	Endpoints []string
	// Prefix of every key, default "/headroom/". A missing trailing "/" is
	// added so that two prefixes like "/a" and "/ab" can never overlap.
	Prefix string
	// DialTimeout default 5 s. It bounds the first round trip in Open (and,
	// for the embedded server, is not used for its start-up, which can be
	// slow while the WAL replays).
	DialTimeout time.Duration
	// Logger receives store, election and (warn and above) etcd logs;
	// default slog.Default().
	Logger *slog.Logger
}

// Store is a handle on the master's etcd: documents, watches and leader
// elections. It is safe for concurrent use.
type Store struct {
	client *clientv3.Client
	server *embed.Etcd // nil in external mode
	// serverCleanup removes what startEmbedded made besides the server
	// (a private socket directory); called once the server has stopped.
	serverCleanup func()
	endpoints     []string
	prefix        string
	log           *slog.Logger
	pageSize      int64

	// serverDone is closed once the goroutine relaying embedded-server
	// errors has returned; nil in external mode.
	serverDone chan struct{}
	// muteServer silences the embedded server's logs during shutdown.
	muteServer atomic.Bool

	closeOnce sync.Once
	closeErr  error
}

// Open connects to etcd: to Config.Endpoints when set, otherwise to a
// single-node etcd it embeds under Config.DataDir/etcd. The returned Store
// owns the client (and the embedded server) until Close.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Store{
		prefix:   cfg.Prefix,
		log:      cfg.Logger.With("component", "store"),
		pageSize: listPageSize,
	}

	endpoints := cfg.Endpoints
	if len(endpoints) == 0 {
		if cfg.DataDir == "" {
			return nil, errors.New("store: Config.DataDir is required when no Endpoints are given")
		}
		srv, eps, cleanup, err := startEmbedded(ctx, cfg.DataDir, cfg.Logger, &s.muteServer)
		if err != nil {
			return nil, err
		}
		s.server = srv
		s.serverCleanup = cleanup
		s.serverDone = make(chan struct{})
		go s.relayServerErrors()
		endpoints = eps
	}
	s.endpoints = append([]string(nil), endpoints...)

	client, err := clientv3.New(clientv3.Config{
		Endpoints:   s.endpoints,
		DialTimeout: cfg.DialTimeout,
		// The client's own logger warns on every retried request, which
		// is routine during failover; only errors are worth surfacing.
		Logger: newSlogZap(cfg.Logger.With("component", "etcd-client"), slog.LevelError),
		// Without keepalives a half-open TCP connection to a dead etcd
		// would only be noticed by the lease keepalive deadline.
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 3 * time.Second,
	})
	if err != nil {
		s.stopServer()
		return nil, fmt.Errorf("store: etcd client for %s: %w", strings.Join(s.endpoints, ","), err)
	}
	s.client = client

	// clientv3.New does not connect; a real round trip is the only way to
	// tell a healthy cluster from a wrong address before callers start
	// depending on the store. A linearizable Get also proves quorum.
	pctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	_, err = client.Get(pctx, s.prefix, clientv3.WithCountOnly())
	cancel()
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("store: etcd at %s not reachable within %s: %w",
			strings.Join(s.endpoints, ","), cfg.DialTimeout, err)
	}
	return s, nil
}

// Close closes the client, then the embedded server if any. It is
// idempotent; later calls return the first call's result. Elections still
// running on this Store lose their session without resigning (as if the
// process crashed), so cancel their Run first for a prompt handover.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.client != nil {
			if err := s.client.Close(); err != nil && !errors.Is(err, context.Canceled) {
				s.closeErr = fmt.Errorf("store: close etcd client: %w", err)
			}
		}
		s.stopServer()
	})
	return s.closeErr
}

// Client exposes the underlying etcd client for operations this package
// does not wrap (transactions across kinds, leases).
func (s *Store) Client() *clientv3.Client { return s.client }

// Endpoints returns the client URLs in use; for an embedded server these
// are its loopback URLs, so other Stores (other masters in tests) can
// connect to it in external mode.
func (s *Store) Endpoints() []string { return append([]string(nil), s.endpoints...) }

// Prefix returns the key prefix (always ending in "/").
func (s *Store) Prefix() string { return s.prefix }

// Key returns the etcd key of document kind/id; useful to build extra
// clientv3.Cmp guards.
func (s *Store) Key(kind, id string) string { return s.prefix + kind + "/" + id }

func (s *Store) kindPrefix(kind string) string { return s.prefix + kind + "/" }

func checkKind(kind string) error {
	if kind == "" || strings.Contains(kind, "/") {
		return fmt.Errorf("store: invalid kind %q: must be non-empty without %q", kind, "/")
	}
	if strings.HasPrefix(kind, reservedKindPrefix) {
		return fmt.Errorf("store: invalid kind %q: kinds starting with %q are reserved", kind, reservedKindPrefix)
	}
	return nil
}

func checkKindID(kind, id string) error {
	if err := checkKind(kind); err != nil {
		return err
	}
	if id == "" || strings.Contains(id, "/") {
		return fmt.Errorf("store: invalid id %q of kind %q: must be non-empty without %q", id, kind, "/")
	}
	return nil
}

// Put stores v as JSON under kind/id. guards are extra conditions, usually
// an Election's Guard(), evaluated atomically with the write; if any fails
// nothing is written and ErrNotLeader is returned.
func (s *Store) Put(ctx context.Context, kind, id string, v any, guards ...clientv3.Cmp) error {
	if err := checkKindID(kind, id); err != nil {
		return err
	}
	key := s.Key(kind, id)
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %s: %w", key, err)
	}
	// A txn with no conditions always succeeds, so one code path serves
	// both guarded and unguarded writes.
	resp, err := s.client.Txn(ctx).If(guards...).Then(clientv3.OpPut(key, string(raw))).Commit()
	if err != nil {
		return fmt.Errorf("store: put %s: %w", key, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("store: put %s: %w", key, ErrNotLeader)
	}
	return nil
}

// Get decodes the JSON document kind/id into v. found is false (and v
// untouched) when there is no such document.
func (s *Store) Get(ctx context.Context, kind, id string, v any) (found bool, err error) {
	if err := checkKindID(kind, id); err != nil {
		return false, err
	}
	key := s.Key(kind, id)
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("store: get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return false, nil
	}
	if err := json.Unmarshal(resp.Kvs[0].Value, v); err != nil {
		return true, fmt.Errorf("store: decode %s: %w", key, err)
	}
	return true, nil
}

// List calls fn for every document of kind, in id order, with the raw JSON.
// An error from fn stops the listing and is returned as is.
func (s *Store) List(ctx context.Context, kind string, fn func(id string, raw []byte) error) error {
	_, err := s.ListRev(ctx, kind, fn)
	return err
}

// ListRev is List that also returns the etcd revision the listing is
// consistent with; Watch(ctx, kind, rev+1) then continues exactly where the
// listing ended, with no gap and no duplicate.
//
// All pages are read at the first page's revision, so the result is one
// snapshot even while others write; if that revision is compacted away
// mid-listing the error wraps rpctypes.ErrCompacted and the caller retries.
func (s *Store) ListRev(ctx context.Context, kind string, fn func(id string, raw []byte) error) (rev int64, err error) {
	if err := checkKind(kind); err != nil {
		return 0, err
	}
	pfx := s.kindPrefix(kind)
	end := clientv3.GetPrefixRangeEnd(pfx)
	from := pfx
	for {
		opts := []clientv3.OpOption{
			clientv3.WithRange(end),
			clientv3.WithLimit(s.pageSize),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend),
		}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.client.Get(ctx, from, opts...)
		if err != nil {
			return 0, fmt.Errorf("store: list %s from %q: %w", pfx, from, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			if err := fn(strings.TrimPrefix(string(kv.Key), pfx), kv.Value); err != nil {
				return 0, err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return rev, nil
		}
		// The next page starts just after the last key seen: appending
		// a zero byte yields the smallest key greater than it.
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// Delete removes kind/id; deleting a missing document is not an error.
// guards work as for Put.
func (s *Store) Delete(ctx context.Context, kind, id string, guards ...clientv3.Cmp) error {
	if err := checkKindID(kind, id); err != nil {
		return err
	}
	key := s.Key(kind, id)
	resp, err := s.client.Txn(ctx).If(guards...).Then(clientv3.OpDelete(key)).Commit()
	if err != nil {
		return fmt.Errorf("store: delete %s: %w", key, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("store: delete %s: %w", key, ErrNotLeader)
	}
	return nil
}

// Event is one change of a document, or a terminal error.
type Event struct {
	Kind, ID string
	Deleted  bool
	// Value is the new JSON document; nil for deletions.
	Value []byte
	// Revision is the etcd revision of the change (its ModRevision).
	Revision int64
	// Err, when set, is the last event on the channel: the watch broke
	// (typically the start revision was compacted) and the caller must
	// re-list and watch again from the listing's revision + 1.
	Err error
}

// Watch streams changes of kind starting at revision fromRev (inclusive;
// 0 = changes after now). The channel closes when ctx ends, or right after
// an Event with Err set. Events arrive in revision order.
func (s *Store) Watch(ctx context.Context, kind string, fromRev int64) <-chan Event {
	out := make(chan Event, 64)
	if err := checkKind(kind); err != nil {
		out <- Event{Kind: kind, Err: err}
		close(out)
		return out
	}
	go s.watch(ctx, kind, fromRev, out)
	return out
}

func (s *Store) watch(ctx context.Context, kind string, fromRev int64, out chan<- Event) {
	defer close(out)
	pfx := s.kindPrefix(kind)

	// The watch context is cancelled when we return, so the client
	// releases its server-side watcher even if ctx lives on (error exit).
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := []clientv3.OpOption{clientv3.WithPrefix()}
	if fromRev > 0 {
		opts = append(opts, clientv3.WithRev(fromRev))
	}
	// WithRequireLeader makes a member cut off from its cluster end the
	// watch with an error instead of silently delivering nothing.
	wch := s.client.Watch(clientv3.WithRequireLeader(wctx), pfx, opts...)

	send := func(ev Event) bool {
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		var resp clientv3.WatchResponse
		var ok bool
		select {
		case resp, ok = <-wch:
		case <-ctx.Done():
			return
		}
		if !ok {
			// The client closes the channel without a response when
			// ctx ends or the client is closed; only the latter is
			// worth reporting.
			if ctx.Err() == nil {
				send(Event{Kind: kind, Err: fmt.Errorf("store: watch %s: channel closed (client closed?)", pfx)})
			}
			return
		}
		if err := resp.Err(); err != nil {
			if ctx.Err() == nil {
				send(Event{Kind: kind, Revision: resp.CompactRevision,
					Err: fmt.Errorf("store: watch %s from revision %d: %w", pfx, fromRev, err)})
			}
			return
		}
		for _, ev := range resp.Events {
			e := Event{
				Kind:     kind,
				ID:       strings.TrimPrefix(string(ev.Kv.Key), pfx),
				Deleted:  ev.Type == mvccpb.DELETE,
				Revision: ev.Kv.ModRevision,
			}
			if !e.Deleted {
				e.Value = ev.Kv.Value
			}
			if !send(e) {
				return
			}
		}
	}
}
