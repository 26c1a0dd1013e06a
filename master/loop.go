package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/master/allocator"
	"github.com/headroom-dev/headroom/master/apps"
	"github.com/headroom-dev/headroom/master/core"
)

func decodeJSON(raw []byte, v any) error { return json.Unmarshal(raw, v) }

// allocationLoop runs one cycle per allocation interval while leading.
func (m *Master) allocationLoop(ctx context.Context) error {
	t := m.cfg.Clock.NewTicker(m.cfg.AllocationInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.Chan():
			m.cycle()
		}
	}
}

// cycle is one allocation cycle: agent timeouts, then up to
// maxAllocationPasses allocations whose offers the built-in frameworks
// answer at once, then the apps' and jobs' housekeeping.
func (m *Master) cycle() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return
	}
	now := m.cfg.Clock.Now()
	m.fx.DrainBacklog()
	if m.step(core.Tick{}).Reply.(core.TickReply).Recovering {
		why := fmt.Sprintf("waiting for the known agents to re-register after a master failover (at most until %s)",
			m.core.RecoverUntil().UTC().Format(time.RFC3339))
		m.apps.Hold(why, now)
		m.jobs.Hold(why, now)
		return
	}

	// The apps framework asks for offers in the cycle that first sees an
	// app short of instances (created, scaled, or a task lost since the
	// last cycle), not one cycle later.
	if m.apps.WantsOffers() {
		_ = m.alloc.Revive(AppsFrameworkID)
	} else {
		_ = m.alloc.Suppress(AppsFrameworkID)
	}
	var got builtinOffers
	for pass := 0; pass < maxAllocationPasses; pass++ {
		if pass > 0 {
			// Only suppress between passes: reviving would clear the
			// filters the declines just set, and the same framework
			// would be offered the same agent again.
			if !m.apps.WantsOffers() {
				_ = m.alloc.Suppress(AppsFrameworkID)
			}
			if !m.jobs.WantsOffers() {
				_ = m.alloc.Suppress(JobsFrameworkID)
			}
		}
		start := time.Now()
		res := m.alloc.Allocate(now)
		m.cfg.Metrics.ObserveAllocation(time.Since(start))
		m.rescinded(res.Rescinds)
		m.stats.offersSent += uint64(len(res.Offers))
		declined := m.answerBuiltin(res.Offers, &got, now)
		if declined == 0 {
			break
		}
	}
	if !got.apps {
		m.apps.NoOffers(m.freeOffers, now)
	}
	for _, id := range m.apps.Tick(now) {
		m.kill(id, "", "")
	}
	m.jobsTick(got.jobs, now)
}

// maxAllocationPasses bounds the allocations of one cycle. What a
// built-in framework declines goes on to the next framework in the same
// cycle: each decline filters the decliner on that agent, so a pass per
// built-in framework and one more lets the capacity reach a framework
// that can use it, instead of the same framework being offered, and
// declining, the same agent at every cycle while another waits.
const maxAllocationPasses = 3

// builtinOffers records which built-in frameworks got offers this cycle.
type builtinOffers struct{ apps, jobs bool }

// answerBuiltin applies one allocation pass: the built-in frameworks
// answer their offers at once, external frameworks get theirs as OFFERS
// events. It returns how many offers the built-in frameworks declined.
// Called with mu held.
func (m *Master) answerBuiltin(all []allocator.Offer, got *builtinOffers, now time.Time) int {
	var offers []apps.Offer
	var external []allocator.Offer
	byID := map[string]allocator.Offer{}
	for _, o := range all {
		if o.FrameworkID != AppsFrameworkID {
			if o.FrameworkID != JobsFrameworkID {
				external = append(external, o)
			}
			continue
		}
		byID[o.ID] = o
		offers = append(offers, m.builtinOffer(o))
	}
	declined := 0
	if len(offers) > 0 {
		got.apps = true
		launches, declines := m.apps.Offers(offers, now)
		declined += m.answerOffers(AppsFrameworkID, byID, launches, declines, now)
	}
	m.sendOffers(external, now)
	n, ok := m.jobsOffers(all, now)
	got.jobs = got.jobs || ok
	return declined + n
}

// builtinOffer is an allocator offer as the built-in schedulers take it,
// with the agent's attributes. Called with mu held.
func (m *Master) builtinOffer(o allocator.Offer) apps.Offer {
	return apps.Offer{
		ID: o.ID, AgentID: o.AgentID, Hostname: o.Hostname, Attributes: m.core.AgentAttributes(o.AgentID),
		Revocable: o.Resources[allocator.Revocable], Dedicated: o.Resources[allocator.Dedicated],
	}
}

// step hands an event to the core at the clock's now and its effects to
// the applier. Called with mu held, while leading.
func (m *Master) step(ev core.Event) core.Ready {
	r := m.core.Step(ev, m.cfg.Clock.Now())
	m.fx.Apply(r.Effects)
	return r
}

// launch records a task placed on an agent and queues the call to the
// agent. Called with mu held.
func (m *Master) launch(info api.TaskInfo, agentID string, pool allocator.Pool, now time.Time) {
	r := m.core.Step(core.Launch{Info: info, AgentID: agentID, Pool: pool}, now)
	m.fx.Apply(r.Effects)
}

// kill queues a kill of the task on its agent. Called with mu held.
func (m *Master) kill(taskID, agentID, reason string) {
	m.step(core.Kill{TaskID: taskID, AgentID: agentID, Reason: reason})
}

// async runs a store write outside mu, in the worker pool.
func (m *Master) async(f func(ctx context.Context) error) { m.fx.Async(f) }

// agentAt is the client of the agent at url: the master's agent
// credential and transport.
func (m *Master) agentAt(url string) *agentproto.Client {
	return &agentproto.Client{URLs: []string{url}, Token: m.cfg.AgentToken, HTTP: m.cfg.AgentClient}
}

// probeLoop runs the apps' health checks while leading: HTTP and TCP
// checks from the master itself, COMMAND checks on the tasks' agents.
func (m *Master) probeLoop(ctx context.Context) error {
	t := m.cfg.Clock.NewTicker(time.Second)
	defer t.Stop()
	client := &http.Client{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.Chan():
		}
		m.mu.Lock()
		if !m.leading {
			m.mu.Unlock()
			return nil
		}
		now := m.cfg.Clock.Now()
		probes := m.apps.DueProbes(now)
		commands := m.commandTargets(m.apps.DueCommands(now))
		m.mu.Unlock()
		var wg sync.WaitGroup
		for _, p := range probes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := p.Run(ctx, client)
				m.mu.Lock()
				defer m.mu.Unlock()
				if m.leading {
					m.apps.HealthCheckResult(p.TaskID, p.Check, err == nil, m.cfg.Clock.Now())
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
				healthy, err := m.runCommandCheck(ctx, c)
				if err != nil {
					// No answer from the agent (a network blip, the agent
					// restarting, our own shutdown): not the task's fault,
					// so nothing is counted against it.
					if ctx.Err() == nil {
						m.log.Warn("COMMAND health check: no answer from the agent", "task", c.TaskID, "agent", c.AgentID, "err", err)
					}
					return
				}
				m.mu.Lock()
				defer m.mu.Unlock()
				if m.leading {
					m.apps.HealthCheckResult(c.TaskID, c.Check, healthy, m.cfg.Clock.Now())
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
func (m *Master) commandTargets(checks []apps.CommandCheck) []commandTarget {
	out := make([]commandTarget, 0, len(checks))
	for _, c := range checks {
		url, ok := m.core.ActiveAgentURL(c.AgentID)
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
func (m *Master) runCommandCheck(ctx context.Context, c commandTarget) (bool, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = defaultCommandCheckTimeout
	}
	timeout = min(timeout, maxCommandCheckTimeout)
	r, err := m.agentAt(c.agentURL).Check(ctx, c.TaskID, agentproto.CheckRequest{Command: c.Command, TimeoutSeconds: timeout.Seconds()})
	var se *agentproto.StatusError
	switch {
	case errors.As(err, &se):
		m.log.Info("COMMAND health check refused by the agent: counted as failed", "task", c.TaskID,
			"agent", c.AgentID, "status", se.Code, "err", err)
		return false, nil
	case errors.Is(err, agentproto.ErrUndecodable):
		m.log.Warn("COMMAND health check: unreadable answer: counted as failed", "task", c.TaskID, "agent", c.AgentID, "err", err)
		return false, nil
	case err != nil:
		return false, err
	}
	if !r.Healthy {
		m.log.Debug("COMMAND health check failed", "task", c.TaskID, "exit_code", r.ExitCode, "output", r.Output)
	}
	return r.Healthy, nil
}

// builtins shows the core the master's own frameworks (core.Builtins):
// the apps and jobs schedulers, called in the core's Step, under mu.
type builtins struct{ m *Master }

func (b builtins) Name(id string) (string, bool) {
	switch id {
	case AppsFrameworkID:
		return "apps", true
	case JobsFrameworkID:
		return "jobs", true
	}
	return "", false
}

func (b builtins) TaskStatus(id string, st api.TaskStatus, hostname string, attrs map[string]string, now time.Time) []string {
	switch id {
	case AppsFrameworkID:
		if attrs == nil {
			attrs = map[string]string{}
		}
		return b.m.apps.Update(st, hostname, attrs, now)
	case JobsFrameworkID:
		return b.m.jobs.Update(st, hostname, attrs, now)
	}
	return nil
}

func (b builtins) AttributesChanged(agentID, hostname string, attrs map[string]string) []string {
	return b.m.apps.AttributesChanged(agentID, hostname, attrs)
}

func (b builtins) ForgetAgent(agentID string) {
	b.m.apps.ForgetAgent(agentID)
	b.m.jobs.ForgetAgent(agentID)
}
