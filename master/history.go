package master

import (
	"time"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/master/core"
	"github.com/headroom-dev/headroom/master/history"
)

// HeartbeatObserver is told the figures of every accepted heartbeat and
// of every agent forgotten, under the master's lock: it must not block.
// The master feeds its history (GET /api/v1/history) through it.
type HeartbeatObserver interface {
	AgentHeartbeat(agentID string, hb agentproto.Heartbeat, now time.Time)
	AgentGone(agentID string)
}

// historyFeed turns heartbeats into history samples. The reasons are what
// sets the reservation: the estimate's bounds, or the operator's override.
type historyFeed struct{ h *history.History }

func (f historyFeed) AgentHeartbeat(agentID string, hb agentproto.Heartbeat, now time.Time) {
	e := hb.Estimate
	reserved := [2]string{e.CPUReason, e.MemReason}
	if hb.Override != "" {
		reserved = [2]string{"override " + hb.Override, "override " + hb.Override}
	}
	f.h.Observe(agentID, history.Sample{
		BusinessCPUs: e.BusinessCPUs, BusinessMem: float64(e.BusinessMemBytes),
		BatchCPUs: hb.Used.CPUs, BatchMem: float64(hb.Used.MemBytes),
		HarvestCPUs: e.HarvestableCPUs, HarvestMem: float64(e.HarvestableMemBytes),
		ReservedCPUs: hb.Revocable.CPUs, ReservedMem: float64(hb.Revocable.MemBytes),
		CPUReason: reserved[0], MemReason: reserved[1],
	}, now)
}

func (f historyFeed) AgentGone(agentID string) { f.h.Forget(agentID) }

// forgetGone tells the observer of heartbeats about the agents the core
// forgot.
func (m *Master) forgetGone(effects []core.Effect) {
	for _, e := range effects {
		if d, ok := e.(core.DeleteAgent); ok {
			m.heartbeats().AgentGone(d.ID)
		}
	}
}

// heartbeats is the observer of heartbeats; a Master built without New
// (tests of the loop) has none.
func (m *Master) heartbeats() HeartbeatObserver {
	if m.history == nil {
		return nopHeartbeats{}
	}
	return historyFeed{m.history}
}

type nopHeartbeats struct{}

func (nopHeartbeats) AgentHeartbeat(string, agentproto.Heartbeat, time.Time) {}
func (nopHeartbeats) AgentGone(string)                                       {}
