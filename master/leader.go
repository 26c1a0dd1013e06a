package master

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/headroom-dev/headroom/master/store"
)

// Bounds of the master's API against its store. A handler never waits on
// etcd longer than StoreTimeout; the leader's identity, which every
// standby answer needs, is read in the background every LeaderRefresh and
// served from memory, so /api/v1/leader and a standby's redirects answer
// at once even while etcd is unreachable (503 once the last good reading
// is older than StoreTimeout).
const (
	DefaultStoreTimeout  = 2 * time.Second
	DefaultLeaderRefresh = 250 * time.Millisecond
)

// errStoreUnreachable: no good reading of the election within StoreTimeout.
var errStoreUnreachable = errors.New("state store unreachable: the leader could not be read")

// storeCtx bounds one store call made on behalf of a request.
func (m *Master) storeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, m.cfg.StoreTimeout)
}

// leaderCache is the leader as last read from the election.
type leaderCache struct {
	mu sync.Mutex
	// url and err are the last reading's; ok is when the last good one
	// was made (zero before any).
	url string
	err error
	ok  time.Time
}

// trackLeader reads the election's leader every LeaderRefresh until ctx
// ends. It paces I/O, so it runs on real time even under a test's fake
// clock (the allocation logic's time is not involved).
func (m *Master) trackLeader(ctx context.Context) error {
	tick := time.NewTicker(m.cfg.LeaderRefresh)
	defer tick.Stop()
	for {
		lctx, cancel := m.storeCtx(ctx)
		u, err := m.election.Leader(lctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		m.leaderSeen.mu.Lock()
		m.leaderSeen.url, m.leaderSeen.err = u, err
		if err == nil || errors.Is(err, store.ErrNoLeader) {
			m.leaderSeen.ok = time.Now()
		}
		m.leaderSeen.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// knownLeader is the leader from memory: this master while it leads,
// otherwise the last reading, or an error saying why it is not known (no
// leader elected, the store unreachable). It never waits on etcd.
func (m *Master) knownLeader() (string, error) {
	if m.Leading() {
		return m.cfg.AdvertiseURL, nil
	}
	c := &m.leaderSeen
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.ok.IsZero() && c.err == nil:
		return "", errors.New("the leader is not known yet: the election has not been read")
	case time.Since(c.ok) > m.cfg.StoreTimeout:
		if c.err != nil {
			return c.url, fmt.Errorf("%w: %w", errStoreUnreachable, c.err)
		}
		return c.url, errStoreUnreachable
	case c.err != nil:
		return c.url, c.err
	case c.url == "":
		return "", store.ErrNoLeader
	}
	return c.url, nil
}
