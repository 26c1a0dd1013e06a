package term

import (
	"context"
	"fmt"
	"time"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/master/core"
	"github.com/headroom-dev/headroom/master/store"
)

// Dynamic attributes (see master/core/attributes.go) are the operator's
// per hostname, kept in etcd under store.Attributes so that they outlive
// agent restarts and master failovers, and can be edited in etcd directly
// (the leader watches the kind). Every change, made through the API or in
// etcd, is stepped into the core as core.SetDynamic.

// setDynamic installs a hostname's dynamic attributes (nil removes them).
// Called with mu held.
func (t *Term) setDynamic(hostname string, attrs map[string]string) {
	t.step(core.SetDynamic{Hostname: hostname, Attributes: attrs})
}

// SetAgentAttributes replaces the dynamic attributes of an agent's host
// (PUT /api/v1/agents/{id}/attributes). They are written to etcd first.
func (t *Term) SetAgentAttributes(ctx context.Context, agentID string, attrs map[string]string) (core.AgentView, error) {
	if err := agentproto.ValidateAttributes(attrs); err != nil {
		return core.AgentView{}, &inputError{err: err}
	}
	t.mu.Lock()
	if !t.leading {
		t.mu.Unlock()
		return core.AgentView{}, errNotLeading
	}
	ag, ok := t.core.Agent(agentID)
	if !ok {
		t.mu.Unlock()
		return core.AgentView{}, fmt.Errorf("agent %q: %w", agentID, errNotFound)
	}
	hostname := ag.Hostname
	t.mu.Unlock()
	var err error
	ctx, cancel := t.storeCtx(ctx)
	defer cancel()
	if len(attrs) == 0 {
		err = t.cfg.Store.Docs(store.Attributes).Delete(ctx, hostname, t.cfg.Guard())
	} else {
		err = t.cfg.Store.Docs(store.Attributes).Put(ctx, hostname, attrs, t.cfg.Guard())
	}
	if err != nil {
		return core.AgentView{}, fmt.Errorf("%w: %w", errStore, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.leading {
		return core.AgentView{}, errNotLeading
	}
	t.setDynamic(hostname, attrs)
	ag, ok = t.core.Agent(agentID)
	if !ok {
		return core.AgentView{}, fmt.Errorf("agent %q: %w", agentID, errNotFound)
	}
	t.log.Info("dynamic attributes set", "hostname", hostname, "attributes", attrs)
	return ag, nil
}

// loadAttributes reads every hostname's dynamic attributes and the store
// revision they were read at, for the watch to continue from.
func (t *Term) loadAttributes(ctx context.Context) (map[string]map[string]string, int64, error) {
	out := map[string]map[string]string{}
	rev, err := t.cfg.Store.Docs(store.Attributes).ListRev(ctx, func(host string, raw []byte) error {
		var attrs map[string]string
		if err := decodeJSON(raw, &attrs); err != nil {
			return fmt.Errorf("attributes of %s: %w", host, err)
		}
		out[host] = attrs
		return nil
	})
	return out, rev, err
}

// watchAttributes applies edits made directly in etcd (or by another
// master before a failover) while this master leads.
func (t *Term) watchAttributes(ctx context.Context, fromRev int64) error {
	for {
		for ev := range t.cfg.Store.Docs(store.Attributes).Watch(ctx, fromRev) {
			if ev.Err != nil {
				t.log.Warn("watching attributes; re-listing", "err", ev.Err)
				break
			}
			fromRev = ev.Revision + 1
			host := ev.ID
			var attrs map[string]string
			if !ev.Deleted {
				if err := decodeJSON(ev.Value, &attrs); err != nil || agentproto.ValidateAttributes(attrs) != nil {
					t.log.Warn("ignoring invalid attributes in etcd", "hostname", host, "err", err)
					continue
				}
			}
			t.mu.Lock()
			if t.leading {
				t.setDynamic(host, attrs)
			}
			t.mu.Unlock()
		}
		if ctx.Err() != nil {
			return nil
		}
		// The watch broke (compaction): re-list and continue from there.
		all, rev, err := t.loadAttributes(ctx)
		if err != nil {
			t.log.Error("re-listing attributes", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		t.mu.Lock()
		if t.leading {
			for _, host := range t.core.DynamicHosts() {
				if _, ok := all[host]; !ok {
					t.setDynamic(host, nil)
				}
			}
			for host, attrs := range all {
				t.setDynamic(host, attrs)
			}
		}
		t.mu.Unlock()
		fromRev = rev + 1
	}
}
