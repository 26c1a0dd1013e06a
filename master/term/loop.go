package term

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/master/apps"
	"github.com/headroom-dev/headroom/master/core"
)

// allocationLoop runs one cycle per allocation interval while leading.
func (t *Term) allocationLoop(ctx context.Context) error {
	tick := t.cfg.Clock.NewTicker(t.cfg.AllocationInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.Chan():
			t.cycle()
		}
	}
}

// cycle is one allocation cycle: agent timeouts, then up to
// maxAllocationPasses allocations whose offers the built-in frameworks
// answer at once, then the built-in frameworks' housekeeping.
func (t *Term) cycle() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.leading {
		return
	}
	now := t.cfg.Clock.Now()
	t.fx.DrainBacklog()
	if t.step(core.Tick{}).Reply.(core.TickReply).Recovering {
		why := fmt.Sprintf("waiting for the known agents to re-register after a master failover (at most until %s)",
			t.core.RecoverUntil().UTC().Format(time.RFC3339))
		for _, e := range t.running.Entries() {
			e.Framework.Hold(why, now)
		}
		return
	}

	// A built-in framework asks for offers in the cycle that first sees
	// work waiting (an app created, scaled, or a task lost since the last
	// cycle), not one cycle later; unless it revives after its Tick.
	for _, e := range t.running.Entries() {
		if !e.Builtin.ReviveAfterTick {
			t.reviveBuiltin(e.Framework)
		}
	}
	got := map[string]bool{}
	for pass := 0; pass < t.maxAllocationPasses(); pass++ {
		if pass > 0 {
			// Only suppress between passes: reviving would clear the
			// filters the declines just set, and the same framework
			// would be offered the same agent again.
			for _, e := range t.running.Entries() {
				if !e.Framework.WantsOffers() {
					t.step(core.WantOffers{FrameworkID: e.Builtin.ID, Wants: false})
				}
			}
		}
		start := time.Now()
		r := t.core.Step(core.Allocate{}, now)
		t.cfg.Metrics.ObserveAllocation(time.Since(start))
		t.fx.Apply(r.Effects)
		res := r.Reply.(core.AllocateReply)
		t.stats.offersSent += uint64(res.Offers)
		declined := t.answerBuiltin(res.Builtin, got, now)
		if declined == 0 {
			break
		}
	}
	t.builtinsTick(got, now)
}

// step hands an event to the core at the clock's now and its effects to
// the applier. Called with mu held, while leading.
func (t *Term) step(ev core.Event) core.Ready {
	r := t.core.Step(ev, t.cfg.Clock.Now())
	t.fx.Apply(r.Effects)
	t.forgetGone(r.Effects)
	return r
}

// kill queues a kill of the task on its agent. Called with mu held.
func (t *Term) kill(taskID, agentID, reason string) {
	t.step(core.Kill{TaskID: taskID, AgentID: agentID, Reason: reason})
}

// async runs a store write outside mu, in the worker pool.
func (t *Term) async(f func(ctx context.Context) error) { t.fx.Async(f) }

// probeLoop runs the apps' health checks while leading: HTTP and TCP
// checks from the master itself, COMMAND checks on the tasks' agents.
func (t *Term) probeLoop(ctx context.Context) error {
	tick := t.cfg.Clock.NewTicker(time.Second)
	defer tick.Stop()
	client := &http.Client{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.Chan():
		}
		t.mu.Lock()
		if !t.leading {
			t.mu.Unlock()
			return nil
		}
		now := t.cfg.Clock.Now()
		probes := t.apps.DueProbes(now)
		commands := t.commandTargets(t.apps.DueCommands(now))
		t.mu.Unlock()
		var wg sync.WaitGroup
		for _, p := range probes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := p.Run(ctx, client)
				t.mu.Lock()
				defer t.mu.Unlock()
				if t.leading {
					t.apps.HealthCheckResult(p.TaskID, p.Check, err == nil, t.cfg.Clock.Now())
				}
			}()
		}
		// Bounded: a round on a large cluster must not open a connection
		// per task at once, to agents that also serve their tasks.
		sem := make(chan struct{}, maxConcurrentCommandChecks)
		for _, c := range commands {
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				defer func() { <-sem }()
				healthy, err := t.runCommandCheck(ctx, c)
				if err != nil {
					// No answer from the agent (a network blip, the agent
					// restarting, our own shutdown): not the task's fault,
					// so nothing is counted against it.
					if ctx.Err() == nil {
						t.log.Warn("COMMAND health check: no answer from the agent", "task", c.TaskID, "agent", c.AgentID, "err", err)
					}
					return
				}
				t.mu.Lock()
				defer t.mu.Unlock()
				if t.leading {
					t.apps.HealthCheckResult(c.TaskID, c.Check, healthy, t.cfg.Clock.Now())
				}
			}()
		}
		wg.Wait()
	}
}

// maxConcurrentCommandChecks bounds the COMMAND checks of one probe round
// in flight at a time.
const maxConcurrentCommandChecks = 16

// Bounds of a COMMAND check as the agents accept it.
const (
	defaultCommandCheckTimeout = 20 * time.Second
	maxCommandCheckTimeout     = 300 * time.Second
)

// commandTarget is a due COMMAND check with where to run it.
type commandTarget struct {
	apps.CommandCheck
	agentURL string
}

// commandTargets resolves the agents of due COMMAND checks. A check whose
// agent is unknown or not active is skipped: it cannot be run now, and
// the agent's state already tells the apps scheduler about its tasks.
// Called with mu held.
func (t *Term) commandTargets(checks []apps.CommandCheck) []commandTarget {
	out := make([]commandTarget, 0, len(checks))
	for _, c := range checks {
		url, ok := t.core.ActiveAgentURL(c.AgentID)
		if !ok {
			continue
		}
		out = append(out, commandTarget{CommandCheck: c, agentURL: url})
	}
	return out
}

// runCommandCheck asks the task's agent to run the check. It returns an
// error only when the agent did not answer: any answer is a result, and
// an answer other than 200 with a decodable body (unknown task, task not
// running, bad request, agent error) is a failed check.
func (t *Term) runCommandCheck(ctx context.Context, c commandTarget) (bool, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = defaultCommandCheckTimeout
	}
	timeout = min(timeout, maxCommandCheckTimeout)
	r, err := t.cfg.Agent(c.agentURL).Check(ctx, c.TaskID, agentproto.CheckRequest{Command: c.Command, TimeoutSeconds: timeout.Seconds()})
	var se *agentproto.StatusError
	switch {
	case errors.As(err, &se):
		t.log.Info("COMMAND health check refused by the agent: counted as failed", "task", c.TaskID,
			"agent", c.AgentID, "status", se.Code, "err", err)
		return false, nil
	case errors.Is(err, agentproto.ErrUndecodable):
		t.log.Warn("COMMAND health check: unreadable answer: counted as failed", "task", c.TaskID, "agent", c.AgentID, "err", err)
		return false, nil
	case err != nil:
		return false, err
	}
	if !r.Healthy {
		t.log.Debug("COMMAND health check failed", "task", c.TaskID, "exit_code", r.ExitCode, "output", r.Output)
	}
	return r.Healthy, nil
}
