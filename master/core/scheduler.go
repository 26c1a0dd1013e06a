package core

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/master/allocator"
)

// schedulerCall applies one call of a subscribed framework.
func (c *Core) schedulerCall(streamID string, call scheduler.Call, now time.Time) error {
	id := call.FrameworkID.Value
	fw := c.frameworks[id]
	switch {
	case fw == nil:
		if _, gone := c.removed[id]; gone {
			return fmt.Errorf("framework %q: %w", id, ErrFrameworkRemoved)
		}
		return fmt.Errorf("framework %q: %w", id, ErrNotSubscribed)
	case fw.stream == "":
		return fmt.Errorf("framework %q: %w: subscribe again", id, ErrNotSubscribed)
	case fw.stream != streamID:
		return fmt.Errorf("framework %q: stream id %q: %w", id, streamID, ErrWrongStream)
	}
	switch call.Type {
	case scheduler.CallAccept:
		return c.accept(fw, *call.Accept, now)
	case scheduler.CallDecline:
		refuse, err := refuseOf(call.Decline.Filters, "decline.")
		if err != nil {
			return err
		}
		for _, oid := range call.Decline.OfferIDs {
			if o, ok := c.alloc.Offer(oid.Value); ok && o.FrameworkID == fw.ID {
				c.emit(Count{Counter: CounterOffersDeclined, N: 1})
				_ = c.alloc.Decline(oid.Value, refuse, now)
			}
		}
	case scheduler.CallKill:
		tid := call.Kill.TaskID.Value
		t, ok := c.tasks[tid]
		if !ok || t.Info.FrameworkID != fw.ID {
			c.sendOnce(fw, tid, "", api.TaskLost, api.ReasonReconciliation, "the master knows no task of this id for the framework", now)
			return nil
		}
		if !t.Status.State.IsTerminal() {
			c.kill(tid, t.AgentID, api.ReasonKilledByRequest)
		}
	case scheduler.CallAcknowledge:
		ack := call.Acknowledge
		if ack.UUID == "" {
			return &InputError{Err: errors.New("acknowledge.uuid: required")}
		}
		// Pending updates hold the wire form; the ack may be padded or
		// not, or the text an older client kept.
		uuid, err := scheduler.CanonicalUUID(ack.UUID)
		if err != nil {
			return &InputError{Err: fmt.Errorf("acknowledge.%w", err)}
		}
		if p := fw.pending[ack.TaskID.Value]; p != nil && p.status.UUID == uuid {
			delete(fw.pending, ack.TaskID.Value)
		}
	case scheduler.CallReconcile:
		var tasks []scheduler.ReconcileTask
		if call.Reconcile != nil {
			tasks = call.Reconcile.Tasks
		}
		if !c.recoverUntil.IsZero() {
			fw.reconciles = append(fw.reconciles, tasks)
			return nil
		}
		c.reconcile(fw, tasks, now)
	case scheduler.CallRevive, scheduler.CallSuppress:
		roles := call.Revive
		if call.Type == scheduler.CallSuppress {
			roles = call.Suppress
		}
		if roles != nil {
			for i, r := range roles.Roles {
				if r != fw.Role {
					return &InputError{Err: fmt.Errorf("%s.roles[%d]: the framework's role is %q, got %q", strings.ToLower(string(call.Type)), i, fw.Role, r)}
				}
			}
		}
		if call.Type == scheduler.CallRevive {
			return c.alloc.Revive(fw.ID)
		}
		return c.alloc.Suppress(fw.ID)
	case scheduler.CallTeardown:
		c.removeFramework(fw, "torn down by the framework", now)
	case scheduler.CallUpdateFramework:
		return c.updateFramework(fw, *call.UpdateFramework)
	}
	return nil
}

// refuseOf reads a call's filters; the default applies when unset.
func refuseOf(f *scheduler.Filters, prefix string) (time.Duration, error) {
	d, set, err := f.Refuse()
	if err != nil {
		return 0, &InputError{Err: fmt.Errorf("%s%w", prefix, err)}
	}
	if !set {
		return allocator.RefuseDefault, nil
	}
	return d, nil
}

// reconcile answers a reconciliation: the newest state of each named
// task, or of every active task of the framework when none is named.
func (c *Core) reconcile(fw *framework, tasks []scheduler.ReconcileTask, now time.Time) {
	if len(tasks) == 0 {
		for _, id := range sortedKeys(c.tasks) {
			t := c.tasks[id]
			if t.Info.FrameworkID == fw.ID && !t.Status.State.IsTerminal() {
				c.sendOnce(fw, id, t.AgentID, t.Status.State, api.ReasonReconciliation, t.Status.Message, now)
			}
		}
		return
	}
	for _, rt := range tasks {
		id := rt.TaskID.Value
		if t, ok := c.tasks[id]; ok && t.Info.FrameworkID == fw.ID {
			c.sendOnce(fw, id, t.AgentID, t.Status.State, api.ReasonReconciliation, t.Status.Message, now)
			continue
		}
		agentID := ""
		if rt.AgentID != nil {
			agentID = rt.AgentID.Value
		}
		if ag := c.agents[agentID]; ag != nil && ag.State == AgentUnreachable {
			c.sendOnce(fw, id, agentID, api.TaskUnreachable, api.ReasonReconciliation, "the task's agent is unreachable", now)
			continue
		}
		c.sendOnce(fw, id, agentID, api.TaskUnknown, api.ReasonReconciliation, "the master has no record of this task", now)
	}
}

// accept launches the tasks of an ACCEPT on its offers. An offer that is
// unknown, rescinded or another framework's makes the whole call void: its
// tasks are reported TASK_LOST and the valid offers are returned. A task
// that is invalid or does not fit in what is left of the offers is
// reported TASK_ERROR; the others launch.
func (c *Core) accept(fw *framework, acc scheduler.Accept, now time.Time) error {
	if len(acc.OfferIDs) == 0 {
		return &InputError{Err: errors.New("accept.offer_ids: at least one offer is required")}
	}
	refuse, err := refuseOf(acc.Filters, "accept.")
	if err != nil {
		return err
	}
	var tasks []scheduler.TaskInfo
	for i, op := range acc.Operations {
		if op.Type != scheduler.OperationLaunch || op.Launch == nil {
			return &InputError{Err: fmt.Errorf("accept.operations[%d]: only LAUNCH with a launch member is supported, got type %q", i, op.Type)}
		}
		tasks = append(tasks, op.Launch.TaskInfos...)
	}

	var offers []allocator.Offer
	invalid := ""
	seen := map[string]bool{}
	for _, oid := range acc.OfferIDs {
		o, ok := c.alloc.Offer(oid.Value)
		switch {
		case seen[oid.Value]:
			invalid = fmt.Sprintf("offer %q is listed twice", oid.Value)
		case !ok:
			invalid = fmt.Sprintf("offer %q is unknown: rescinded, expired, already answered or never made", oid.Value)
		case o.FrameworkID != fw.ID:
			invalid = fmt.Sprintf("offer %q was made to another framework", oid.Value)
		case len(offers) > 0 && o.AgentID != offers[0].AgentID:
			invalid = fmt.Sprintf("offer %q is of agent %s, the others of %s: one ACCEPT takes the offers of one agent", oid.Value, o.AgentID, offers[0].AgentID)
		}
		if invalid != "" {
			break
		}
		seen[oid.Value] = true
		offers = append(offers, o)
	}
	if invalid != "" {
		for _, o := range offers {
			_ = c.alloc.Decline(o.ID, 0, now)
		}
		for _, ti := range tasks {
			c.sendOnce(fw, ti.TaskID.Value, ti.AgentID.Value, api.TaskLost, api.ReasonInvalidOffers, invalid+"; nothing was launched", now)
		}
		c.log.Info("ACCEPT with invalid offers: its tasks reported lost", "framework", fw.ID, "why", invalid)
		return nil
	}

	agentID := offers[0].AgentID
	var avail, used allocator.ByPool
	for _, o := range offers {
		avail = avail.Add(o.Resources)
	}
	type launch struct {
		info api.TaskInfo
		pool allocator.Pool
	}
	var launches []launch
	batch := map[string]bool{}
	for i, ti := range tasks {
		info, pool, err := c.taskFromWire(fw, ti, agentID)
		if err == nil && batch[info.ID] {
			err = fmt.Errorf("task_id: %q appears twice in this ACCEPT", info.ID)
		}
		if err == nil {
			need := used[pool].Add(info.Resources)
			if !avail[pool].Contains(need) {
				err = fmt.Errorf("resources: task %d needs %s of the %s pool, more than the offers hold after the tasks before it (%s of %s)",
					i, fmtRes(info.Resources), pool, fmtRes(avail[pool].Sub(used[pool]).NonNegative()), fmtRes(avail[pool]))
			}
		}
		if err != nil {
			c.sendOnce(fw, ti.TaskID.Value, agentID, api.TaskError, api.ReasonTaskInvalid, err.Error(), now)
			continue
		}
		used[pool] = used[pool].Add(info.Resources)
		batch[info.ID] = true
		launches = append(launches, launch{info, pool})
	}
	// The resources used are taken from the offers in order; what is left
	// of each returns to the pool.
	left := used
	for _, o := range offers {
		var take allocator.ByPool
		for p := range take {
			take[p] = minRes(left[p], o.Resources[p])
		}
		left = left.Sub(take)
		if _, err := c.alloc.Accept(o.ID, take, refuse, now); err != nil {
			c.log.Error("accepting an offer", "framework", fw.ID, "offer", o.ID, "err", err)
		}
	}
	for _, l := range launches {
		c.launch(l.info, agentID, l.pool, now)
	}
	return nil
}

func minRes(a, b resources.Resources) resources.Resources {
	return resources.Resources{CPUs: min(a.CPUs, b.CPUs), MemBytes: min(a.MemBytes, b.MemBytes), Disk: min(a.Disk, b.Disk)}
}

func fmtRes(r resources.Resources) string {
	s := fmt.Sprintf("cpus %.3g, mem %d MiB", r.CPUs, r.MemBytes>>20)
	if r.Disk > 0 {
		s += fmt.Sprintf(", disk %d MiB", r.Disk>>20)
	}
	return s
}

// taskFromWire turns a launched TaskInfo into the agents' form and says
// which pool it draws on. Errors name the field.
func (c *Core) taskFromWire(fw *framework, ti scheduler.TaskInfo, agentID string) (api.TaskInfo, allocator.Pool, error) {
	id := ti.TaskID.Value
	if err := ti.CheckSupported(); err != nil {
		return api.TaskInfo{}, 0, err
	}
	if err := scheduler.CheckAllocation(ti.Resources, fw.Role); err != nil {
		return api.TaskInfo{}, 0, err
	}
	if ti.AgentID.Value != "" && ti.AgentID.Value != agentID {
		return api.TaskInfo{}, 0, fmt.Errorf("agent_id: %q is not the offers' agent %q", ti.AgentID.Value, agentID)
	}
	if t, ok := c.tasks[id]; ok && !t.Status.State.IsTerminal() {
		return api.TaskInfo{}, 0, fmt.Errorf("task_id: a task %q is already active", id)
	}
	dedicated, revocable, err := scheduler.Sum(ti.Resources)
	if err != nil {
		return api.TaskInfo{}, 0, err
	}
	pool, res := allocator.Dedicated, dedicated
	switch {
	case !revocable.IsZero() && !dedicated.IsZero():
		return api.TaskInfo{}, 0, errors.New("resources: a task takes revocable or non-revocable resources, not both")
	case !revocable.IsZero():
		if !fw.Revocable {
			return api.TaskInfo{}, 0, fmt.Errorf("resources: revocable resources need the %s capability", scheduler.CapabilityRevocable)
		}
		pool, res = allocator.Revocable, revocable
	}
	info := api.TaskInfo{ID: id, FrameworkID: fw.ID, Name: ti.Name, Resources: res, Labels: labelMap(ti.Labels)}
	if ti.Command == nil {
		return api.TaskInfo{}, 0, errors.New("command: required (headroom runs commands, not executors or containers)")
	}
	cmd := ti.Command
	if cmd.Shell == nil || *cmd.Shell {
		if len(cmd.Arguments) > 0 {
			return api.TaskInfo{}, 0, errors.New("command.arguments: only with shell false")
		}
		info.Cmd = cmd.Value
	} else {
		if cmd.Value == "" {
			return api.TaskInfo{}, 0, errors.New("command.value: the program to run is required with shell false")
		}
		// As in Mesos, arguments is the whole argv, arguments[0] being
		// the name the program sees; the program itself is value.
		info.Args = []string{cmd.Value}
		if len(cmd.Arguments) > 1 {
			info.Args = append(info.Args, cmd.Arguments[1:]...)
		}
	}
	if cmd.Environment != nil {
		info.Env = map[string]string{}
		for _, v := range cmd.Environment.Variables {
			info.Env[v.Name] = v.Value
		}
	}
	for _, u := range cmd.URIs {
		info.Fetch = append(info.Fetch, api.FetchURI{URI: u.Value, Extract: u.Extract, Executable: u.Executable, OutputFile: u.OutputFile})
	}
	info.User = cmd.User
	if kp := ti.KillPolicy; kp != nil && kp.GracePeriod != nil {
		info.KillGracePeriodSeconds = float64(kp.GracePeriod.Nanoseconds) / 1e9
	}
	if err := info.Validate(); err != nil {
		return api.TaskInfo{}, 0, err
	}
	return info, pool, nil
}

// labelMap turns wire labels into a map.
func labelMap(l *scheduler.Labels) map[string]string {
	if l == nil || len(l.Labels) == 0 {
		return nil
	}
	out := make(map[string]string, len(l.Labels))
	for _, kv := range l.Labels {
		out[kv.Key] = kv.Value
	}
	return out
}
