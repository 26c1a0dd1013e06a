package master

import (
	"time"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/master/history"
)

// historyFeed turns heartbeats into history samples (a
// HeartbeatObserver). The reasons are what sets the reservation: the
// estimate's bounds, or the operator's override.
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
