package master

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
func (m *Master) setDynamic(hostname string, attrs map[string]string) {
	m.step(core.SetDynamic{Hostname: hostname, Attributes: attrs})
}

// SetAgentAttributes replaces the dynamic attributes of an agent's host
// (PUT /api/v1/agents/{id}/attributes). They are written to etcd first.
func (m *Master) SetAgentAttributes(ctx context.Context, agentID string, attrs map[string]string) (AgentView, error) {
	if err := agentproto.ValidateAttributes(attrs); err != nil {
		return AgentView{}, &inputError{err: err}
	}
	m.mu.Lock()
	if !m.leading {
		m.mu.Unlock()
		return AgentView{}, errNotLeading
	}
	ag, ok := m.core.Agent(agentID)
	if !ok {
		m.mu.Unlock()
		return AgentView{}, fmt.Errorf("agent %q: %w", agentID, errNotFound)
	}
	hostname := ag.Hostname
	m.mu.Unlock()
	var err error
	ctx, cancel := m.storeCtx(ctx)
	defer cancel()
	if len(attrs) == 0 {
		err = m.cfg.Store.Docs(store.Attributes).Delete(ctx, hostname, m.election.Guard())
	} else {
		err = m.cfg.Store.Docs(store.Attributes).Put(ctx, hostname, attrs, m.election.Guard())
	}
	if err != nil {
		return AgentView{}, fmt.Errorf("%w: %w", errStore, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return AgentView{}, errNotLeading
	}
	m.setDynamic(hostname, attrs)
	ag, ok = m.core.Agent(agentID)
	if !ok {
		return AgentView{}, fmt.Errorf("agent %q: %w", agentID, errNotFound)
	}
	m.log.Info("dynamic attributes set", "hostname", hostname, "attributes", attrs)
	return ag, nil
}

// loadAttributes reads every hostname's dynamic attributes and the store
// revision they were read at, for the watch to continue from.
func (m *Master) loadAttributes(ctx context.Context) (map[string]map[string]string, int64, error) {
	out := map[string]map[string]string{}
	rev, err := m.cfg.Store.Docs(store.Attributes).ListRev(ctx, func(host string, raw []byte) error {
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
func (m *Master) watchAttributes(ctx context.Context, fromRev int64) error {
	for {
		for ev := range m.cfg.Store.Docs(store.Attributes).Watch(ctx, fromRev) {
			if ev.Err != nil {
				m.log.Warn("watching attributes; re-listing", "err", ev.Err)
				break
			}
			fromRev = ev.Revision + 1
			host := ev.ID
			var attrs map[string]string
			if !ev.Deleted {
				if err := decodeJSON(ev.Value, &attrs); err != nil || agentproto.ValidateAttributes(attrs) != nil {
					m.log.Warn("ignoring invalid attributes in etcd", "hostname", host, "err", err)
					continue
				}
			}
			m.mu.Lock()
			if m.leading {
				m.setDynamic(host, attrs)
			}
			m.mu.Unlock()
		}
		if ctx.Err() != nil {
			return nil
		}
		// The watch broke (compaction): re-list and continue from there.
		all, rev, err := m.loadAttributes(ctx)
		if err != nil {
			m.log.Error("re-listing attributes", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		m.mu.Lock()
		if m.leading {
			for _, host := range m.core.DynamicHosts() {
				if _, ok := all[host]; !ok {
					m.setDynamic(host, nil)
				}
			}
			for host, attrs := range all {
				m.setDynamic(host, attrs)
			}
		}
		m.mu.Unlock()
		fromRev = rev + 1
	}
}
