package agent

import (
	"context"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/resources"
)

// The agent's side of the master protocol: what it registers and reports,
// and how it carries out the master's orders.

func (a *Agent) registerRequest() agentproto.RegisterRequest {
	rev, ded := a.pools()
	req := agentproto.RegisterRequest{
		Hostname: a.cfg.Hostname, URL: a.cfg.URL, Version: a.cfg.Version,
		Attributes: a.staticAttributes(), Revocable: rev, Dedicated: ded,
	}
	for _, t := range a.exec.Tasks() {
		req.Tasks = append(req.Tasks, agentproto.TaskReport{Info: t.Info, Status: t.Status})
	}
	return req
}

func (a *Agent) heartbeat() agentproto.Heartbeat {
	rev, ded := a.pools()
	var used resources.Resources
	for _, t := range a.exec.Tasks() {
		if !t.Status.State.IsTerminal() {
			used = used.Add(t.Info.Resources)
		}
	}
	a.mu.Lock()
	est := toAPIEstimate(a.estimate)
	var override string
	if a.override != nil {
		override = string(a.override.Mode)
	}
	a.mu.Unlock()
	return agentproto.Heartbeat{Revocable: rev, Dedicated: ded, Used: used, Estimate: est, Attributes: a.staticAttributes(), Override: override}
}

func (a *Agent) updates() <-chan api.TaskStatus { return a.exec.Updates() }

// applyMasterOrders runs in the master client's goroutine: attribute
// changes apply at once; kills are handed to the orders goroutine, since a
// kill waits out a grace period.
func (a *Agent) applyMasterOrders(r agentproto.HeartbeatResponse) {
	if r.Attributes != nil {
		if err := a.setEffective(r.Attributes); err != nil {
			a.cfg.Logger.Warn("master sent invalid attributes; keeping the current ones", "err", err)
		}
	}
	for _, id := range r.Kill {
		select {
		case a.kills <- id:
		default:
			a.cfg.Logger.Warn("kill queue full; the master will ask again", "task", id)
		}
	}
}

// acknowledged forgets terminal tasks once the master has recorded their
// final state: until then the checkpoint is what proves it happened.
func (a *Agent) acknowledged(statuses []api.TaskStatus) {
	for _, s := range statuses {
		if s.State.IsTerminal() {
			if err := a.exec.Forget(s.TaskID); err != nil {
				a.cfg.Logger.Debug("forgetting an acknowledged task", "task", s.TaskID, "err", err)
			}
		}
	}
}

// orders carries out the master's kill orders.
func (a *Agent) orders(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case id := <-a.kills:
			if err := a.exec.Kill(id, api.TaskKilled, api.ReasonOrphan, "the master does not know this task"); err != nil {
				a.cfg.Logger.Warn("killing a task on the master's order", "task", id, "err", err)
			}
		}
	}
}
