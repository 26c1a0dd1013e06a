package core

import (
	"errors"
	"fmt"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/internal/auth"
	"github.com/headroom-dev/headroom/master/allocator"
)

// PrepareSubscribe decides a subscription and returns the record to
// store before Subscribe installs it: a framework told its id must find
// it after a failover. It changes nothing.
func (c *Core) PrepareSubscribe(info scheduler.FrameworkInfo, who *auth.Identity, now time.Time) (FrameworkRecord, error) {
	rec := FrameworkRecord{Name: info.Name, Role: info.RoleName(), User: info.User, Principal: info.Principal,
		Hostname: info.Hostname, WebUIURL: info.WebUIURL, Revocable: info.Has(scheduler.CapabilityRevocable),
		FailoverTimeout: time.Duration(info.FailoverTimeout * float64(time.Second)), RegisteredAt: now}
	if rec.FailoverTimeout == 0 {
		rec.FailoverTimeout = c.cfg.FrameworkFailoverTimeout
	}
	if info.ID != nil {
		rec.ID = info.ID.Value
		if name, builtin := c.fws.Name(rec.ID); builtin {
			// The master's own frameworks have no credential to bind:
			// whoever subscribed as one would get every app's or job's
			// task updates, kill their tasks, and leave the framework
			// disconnected until its tasks expire.
			c.log.Warn("framework subscription refused: a built-in framework id", "framework", rec.ID)
			return FrameworkRecord{}, &RefusedError{Reason: "reserved_id",
				Msg: fmt.Sprintf("framework_info.id: %q is the id of the master's own %s framework; a framework may not subscribe as it", rec.ID, name)}
		}
		if _, gone := c.removed[rec.ID]; gone {
			return FrameworkRecord{}, fmt.Errorf("framework %q: %w", rec.ID, ErrFrameworkRemoved)
		}
		if fw := c.frameworks[rec.ID]; fw != nil {
			rec.RegisteredAt = fw.RegisteredAt
			rec.Credential = fw.Credential
		}
	} else {
		rec.ID = c.newID(info.Name, "framework", 6)
	}
	if err := c.bindFramework(who, &rec); err != nil {
		return FrameworkRecord{}, err
	}
	return rec, nil
}

// subscribe installs a stored subscription on its new stream: the
// framework is offered again, gets SUBSCRIBED, and what was not
// acknowledged on its previous stream.
func (c *Core) subscribe(rec FrameworkRecord, streamID string, now time.Time) {
	fw := c.frameworks[rec.ID]
	if fw == nil {
		fw = &framework{pending: map[string]*pendingUpdate{}}
		c.frameworks[rec.ID] = fw
		c.log.Info("framework subscribed", "framework", rec.ID, "name", rec.Name, "role", rec.Role, "revocable", rec.Revocable)
	} else {
		c.log.Info("framework re-subscribed", "framework", rec.ID, "name", rec.Name, "was_connected", fw.stream != "")
	}
	if fw.stream != "" {
		c.emit(EndStream{StreamID: fw.stream, Message: "the framework subscribed again on another stream"})
	}
	fw.FrameworkRecord = rec
	c.deactivate(fw)
	if err := c.alloc.AddFramework(allocator.Framework{ID: rec.ID, Role: rec.Role, Revocable: rec.Revocable}); err != nil {
		fw.stream = ""
		c.ready.Err = fmt.Errorf("framework %s: %w", rec.ID, err)
		return
	}
	fw.stream = streamID
	fw.disconnectedAt = time.Time{}
	c.send(fw, scheduler.Event{Type: scheduler.EventSubscribed, Subscribed: &scheduler.Subscribed{
		FrameworkID: scheduler.ID{Value: rec.ID}, HeartbeatIntervalSeconds: c.cfg.FrameworkHeartbeatInterval.Seconds()}})
	for _, id := range sortedKeys(fw.pending) {
		p := fw.pending[id]
		p.sentAt = now
		c.send(fw, scheduler.Event{Type: scheduler.EventUpdate, Update: &scheduler.UpdateEvent{Status: p.status}})
	}
}

// send queues an event on the framework's stream, if it has one.
func (c *Core) send(fw *framework, ev scheduler.Event) {
	if fw.stream == "" {
		return
	}
	c.emit(SendEvent{FrameworkID: fw.ID, StreamID: fw.stream, Event: ev})
}

// sendOnce sends a status that needs no acknowledgement: answers to
// RECONCILE and tasks refused before launch.
func (c *Core) sendOnce(fw *framework, taskID, agentID string, state api.TaskState, reason, msg string, now time.Time) {
	c.send(fw, scheduler.Event{Type: scheduler.EventUpdate, Update: &scheduler.UpdateEvent{Status: wireStatus(api.TaskStatus{
		TaskID: taskID, AgentID: agentID, State: state, Reason: reason, Message: msg, Timestamp: now}, scheduler.SourceMaster)}})
}

// deactivate takes a framework out of the allocator: its offers are
// rescinded, its tasks' usage stays counted.
func (c *Core) deactivate(fw *framework) {
	rescinds, err := c.alloc.RemoveFramework(fw.ID)
	if err != nil && !errors.Is(err, allocator.ErrUnknownFramework) {
		c.log.Error("removing a framework from the allocator", "framework", fw.ID, "err", err)
	}
	c.rescinded(rescinds)
}

// streamEnded disconnects a framework whose current stream ended.
func (c *Core) streamEnded(frameworkID, streamID string, now time.Time) {
	fw := c.frameworks[frameworkID]
	if fw == nil || fw.stream == "" || fw.stream != streamID {
		return
	}
	c.emit(EndStream{StreamID: fw.stream})
	fw.stream = ""
	fw.disconnectedAt = now
	c.deactivate(fw)
	c.log.Warn("framework disconnected: its tasks are kept for the failover timeout", "framework", fw.ID,
		"name", fw.Name, "failover_timeout", fw.FailoverTimeout)
}

// removeFramework kills a framework's tasks and forgets it.
func (c *Core) removeFramework(fw *framework, why string, now time.Time) {
	c.log.Warn("framework removed: killing its tasks", "framework", fw.ID, "name", fw.Name, "why", why)
	for _, id := range sortedKeys(c.tasks) {
		t := c.tasks[id]
		if t.Info.FrameworkID == fw.ID && !t.Status.State.IsTerminal() {
			c.kill(id, t.AgentID, api.ReasonFrameworkRemoved)
		}
	}
	if fw.stream != "" {
		c.emit(EndStream{StreamID: fw.stream, Message: "framework removed: " + why})
		fw.stream = ""
	}
	c.deactivate(fw)
	delete(c.frameworks, fw.ID)
	c.removed[fw.ID] = now
	c.emit(DeleteFramework{ID: fw.ID})
}

// teardown is the operator's teardown: the framework's tasks are killed
// and its id may not subscribe again.
func (c *Core) teardown(id string, now time.Time) error {
	fw := c.frameworks[id]
	if fw == nil {
		if name, builtin := c.fws.Name(id); builtin {
			return &RefusedError{Reason: "builtin_framework", Msg: fmt.Sprintf(
				"framework %q is the master's own %s framework: it cannot be torn down; remove its work through its own API", id, name)}
		}
		return fmt.Errorf("framework %q: %w", id, ErrNotFound)
	}
	c.removeFramework(fw, "torn down by the operator", now)
	return nil
}

// frameworksTick expires disconnected frameworks, re-sends unacknowledged
// updates and answers the reconciliations held during recovery.
func (c *Core) frameworksTick(now time.Time, recovering bool) {
	for _, id := range sortedKeys(c.frameworks) {
		fw := c.frameworks[id]
		if fw.stream == "" {
			if now.Sub(fw.disconnectedAt) > fw.FailoverTimeout {
				c.removeFramework(fw, fmt.Sprintf("not re-subscribed within its failover timeout of %s", fw.FailoverTimeout), now)
			}
			continue
		}
		for _, tid := range sortedKeys(fw.pending) {
			p := fw.pending[tid]
			if now.Sub(p.sentAt) >= c.cfg.StatusRetryInterval {
				p.sentAt = now
				c.send(fw, scheduler.Event{Type: scheduler.EventUpdate, Update: &scheduler.UpdateEvent{Status: p.status}})
			}
		}
		if !recovering {
			for _, r := range fw.reconciles {
				c.reconcile(fw, r, now)
			}
			fw.reconciles = nil
		}
	}
}

// wireStatus is st as a framework sees it.
func wireStatus(st api.TaskStatus, source string) scheduler.TaskStatus {
	ws := scheduler.TaskStatus{TaskID: scheduler.ID{Value: st.TaskID}, State: string(st.State), Source: source,
		Message: st.Message, UUID: st.UUID}
	if st.AgentID != "" {
		ws.AgentID = scheduler.NewID(st.AgentID)
	}
	if !st.Timestamp.IsZero() {
		ws.Timestamp = float64(st.Timestamp.UnixNano()) / 1e9
	}
	// Only Mesos's reasons and a base64 uuid on the wire, so that a Mesos
	// client decodes every update; headroom's reason goes in a label.
	return ws.ForMesos(st.Reason)
}

// forwardStatus hands a task's new status to its framework, to be
// re-sent until acknowledged.
func (c *Core) forwardStatus(fw *framework, st api.TaskStatus, now time.Time) {
	source := scheduler.SourceAgent
	if st.UUID == "" {
		source = scheduler.SourceMaster
		st.UUID = c.cfg.Random(16)
	}
	ws := wireStatus(st, source)
	fw.pending[st.TaskID] = &pendingUpdate{status: ws, sentAt: now}
	c.send(fw, scheduler.Event{Type: scheduler.EventUpdate, Update: &scheduler.UpdateEvent{Status: ws}})
}

// rescinded counts rescinds and tells external frameworks.
func (c *Core) rescinded(rs []allocator.Rescind) {
	if len(rs) == 0 {
		return
	}
	c.emit(Count{Counter: CounterOffersRescinded, N: uint64(len(rs))})
	for _, r := range rs {
		if fw := c.frameworks[r.FrameworkID]; fw != nil {
			c.send(fw, scheduler.Event{Type: scheduler.EventRescind, Rescind: &scheduler.RescindEvent{OfferID: scheduler.ID{Value: r.OfferID}}})
		}
	}
}

// sendOffers hands an allocation's offers to their external frameworks,
// one OFFERS event per framework.
func (c *Core) sendOffers(offers []allocator.Offer, now time.Time) {
	byFramework := map[string][]scheduler.Offer{}
	for _, o := range offers {
		fw := c.frameworks[o.FrameworkID]
		if fw == nil || fw.stream == "" {
			// Not reachable: give the resources back at once rather
			// than hold them until the offer times out.
			_ = c.alloc.Decline(o.ID, 0, now)
			continue
		}
		wo := scheduler.Offer{ID: scheduler.ID{Value: o.ID}, FrameworkID: scheduler.ID{Value: o.FrameworkID},
			AgentID: scheduler.ID{Value: o.AgentID}, Hostname: o.Hostname, Expires: float64(o.Expires.UnixNano()) / 1e9,
			AllocationInfo: &scheduler.AllocationInfo{Role: fw.Role}}
		for _, part := range o.Parts() {
			wo.Resources = append(wo.Resources, scheduler.WithAllocation(scheduler.Scalars(part.Resources, part.Revocable), fw.Role)...)
		}
		if ag := c.agents[o.AgentID]; ag != nil {
			for _, k := range sortedKeys(ag.Attributes) {
				wo.Attributes = append(wo.Attributes, scheduler.Attribute{Name: k, Type: "TEXT", Text: &scheduler.Text{Value: ag.Attributes[k]}})
			}
		}
		byFramework[o.FrameworkID] = append(byFramework[o.FrameworkID], wo)
		fw.offers++
	}
	for _, id := range sortedKeys(byFramework) {
		c.send(c.frameworks[id], scheduler.Event{Type: scheduler.EventOffers, Offers: &scheduler.OffersEvent{Offers: byFramework[id]}})
	}
}

// updateFramework applies UPDATE_FRAMEWORK (its info validated by the
// master, as a subscription's is): the framework's info changes in place,
// its id, credential and tasks stay. A new role or revocability takes its
// offers back and re-adds it to the allocator, as a new subscription
// would. Roles in suppressed_roles are suppressed; REVIVE lifts that.
func (c *Core) updateFramework(fw *framework, u scheduler.UpdateFramework) error {
	info := u.FrameworkInfo
	if info.ID != nil && info.ID.Value != fw.ID {
		return &InputError{Err: fmt.Errorf("update_framework.framework_info.id: %q is not the call's framework %q", info.ID.Value, fw.ID)}
	}
	rec := fw.FrameworkRecord
	rec.Name, rec.Role, rec.User, rec.Principal = info.Name, info.RoleName(), info.User, info.Principal
	rec.Hostname, rec.WebUIURL, rec.Revocable = info.Hostname, info.WebUIURL, info.Has(scheduler.CapabilityRevocable)
	rec.FailoverTimeout = time.Duration(info.FailoverTimeout * float64(time.Second))
	if rec.FailoverTimeout == 0 {
		rec.FailoverTimeout = c.cfg.FrameworkFailoverTimeout
	}
	for i, r := range u.SuppressedRoles {
		if r != rec.Role {
			return &InputError{Err: fmt.Errorf("update_framework.suppressed_roles[%d]: the framework's role is %q, got %q", i, rec.Role, r)}
		}
	}
	if rec.Role != fw.Role || rec.Revocable != fw.Revocable {
		c.deactivate(fw)
		if err := c.alloc.AddFramework(allocator.Framework{ID: rec.ID, Role: rec.Role, Revocable: rec.Revocable}); err != nil {
			return fmt.Errorf("framework %s: %w", rec.ID, err)
		}
	}
	fw.FrameworkRecord = rec
	if len(u.SuppressedRoles) > 0 {
		if err := c.alloc.Suppress(rec.ID); err != nil {
			return err
		}
	}
	c.log.Info("framework updated", "framework", rec.ID, "name", rec.Name, "role", rec.Role, "revocable", rec.Revocable)
	c.emit(PersistFramework{Record: rec})
	return nil
}
