package master

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/master/allocator"
	"github.com/headroom-dev/headroom/master/store"
)

// frameworkRecord is what the store keeps of a framework: enough for a
// new leader to keep its tasks and to recognise it when it re-subscribes.
type frameworkRecord struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	User      string `json:"user,omitempty"`
	Principal string `json:"principal,omitempty"`
	Hostname  string `json:"hostname,omitempty"`
	WebUIURL  string `json:"webui_url,omitempty"`
	Revocable bool   `json:"revocable"`
	// FailoverTimeout is how long its tasks outlive its stream.
	FailoverTimeout time.Duration `json:"failover_timeout_ns"`
	RegisteredAt    time.Time     `json:"registered_at"`
	// Credential is the id of the credential that first subscribed it:
	// only it may subscribe as this framework again.
	Credential string `json:"credential,omitempty"`
}

// frameworkEntry is the leader's view of an external framework.
type frameworkEntry struct {
	frameworkRecord
	// stream is the live subscription; nil while disconnected.
	stream *eventStream
	// disconnectedAt starts the failover timeout while stream is nil.
	disconnectedAt time.Time
	// pending holds, per task, the newest update not yet acknowledged.
	pending map[string]*pendingUpdate
	// reconciles are explicit and implicit reconciliations asked while
	// the leader still waited for agents: answering them before the
	// agents report would call running tasks unknown.
	reconciles [][]scheduler.ReconcileTask
	offers     uint64
}

type pendingUpdate struct {
	status scheduler.TaskStatus
	sentAt time.Time
}

// eventStream is one subscription's queue of encoded events. The master
// fills it under mu without blocking; the subscription's HTTP handler
// drains it to the connection.
type eventStream struct {
	id     string
	events chan []byte
	done   chan struct{}
	once   sync.Once
	// errMsg, set before done is closed, is sent as the final ERROR.
	errMsg string
}

// streamQueue bounds the events waiting for a slow framework: past it
// the stream is ended and the framework re-subscribes and reconciles.
const streamQueue = 4096

func newEventStream() *eventStream {
	return &eventStream{id: randomHex(16), events: make(chan []byte, streamQueue), done: make(chan struct{})}
}

// end closes the stream with a message for the framework.
func (s *eventStream) end(msg string) {
	s.once.Do(func() {
		s.errMsg = msg
		close(s.done)
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// send queues an event. Called with mu held: it never blocks, and a full
// queue ends the stream rather than stall the master.
func (fw *frameworkEntry) send(ev scheduler.Event) {
	if fw.stream == nil {
		return
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return
	}
	select {
	case fw.stream.events <- append(data, '\n'):
	default:
		fw.stream.end(fmt.Sprintf("more than %d events queued: the framework reads too slowly; re-subscribe and reconcile", streamQueue))
	}
}

// maxFailoverTimeout bounds a framework's failover timeout.
const maxFailoverTimeout = 365 * 24 * time.Hour

// knownCapabilities are the capability types a subscription may declare.
var knownCapabilities = []string{scheduler.CapabilityRevocable, scheduler.CapabilityPartitionAware,
	scheduler.CapabilityMultiRole, "TASK_KILLING_STATE", "GPU_RESOURCES", "SHARED_RESOURCES", "REGION_AWARE", "RESERVATION_REFINEMENT"}

// validateFrameworkInfo checks a subscription; errors name the field.
func validateFrameworkInfo(info scheduler.FrameworkInfo) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("subscribe.framework_info.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if strings.TrimSpace(info.Name) == "" || len(info.Name) > 200 {
		bad("name", "required, at most 200 characters")
	}
	if info.ID != nil && !api.ValidID(info.ID.Value) {
		bad("id.value", "not a valid framework id: %q", info.ID.Value)
	}
	if len(info.Roles) > 1 {
		bad("roles", "at most one role per framework, got %d", len(info.Roles))
	}
	if len(info.Roles) == 1 && info.Role != "" && info.Role != info.Roles[0] {
		bad("role", "%q contradicts roles[0] %q", info.Role, info.Roles[0])
	}
	if r := info.RoleName(); r != allocator.DefaultRole && !api.ValidID(r) {
		bad("roles[0]", "not a valid role name: %q", r)
	}
	if t := info.FailoverTimeout; math.IsNaN(t) || t < 0 || t > maxFailoverTimeout.Seconds() {
		bad("failover_timeout", "must be in 0-%v seconds, got %v", maxFailoverTimeout.Seconds(), t)
	}
	for i, c := range info.Capabilities {
		if !slices.Contains(knownCapabilities, c.Type) {
			bad(fmt.Sprintf("capabilities[%d].type", i), "unknown capability %q (known: %s)", c.Type, strings.Join(knownCapabilities, ", "))
		}
	}
	return errors.Join(errs...)
}

// newFrameworkID makes a readable, unique id from the framework's name.
func newFrameworkID(name string) string {
	base := strings.Trim(unsafeIDChars.ReplaceAllString(name, "-"), "-._")
	if base == "" {
		base = "framework"
	}
	if len(base) > 60 {
		base = base[:60]
	}
	return base + "-" + randomHex(6)
}

// subscription is what subscribe hands the stream handler.
type subscription struct {
	frameworkID string
	stream      *eventStream
	heartbeat   time.Duration
	leaderCtx   context.Context
}

// builtinName names a built-in framework id for messages.
func (m *Master) builtinName(id string) string {
	b, _ := m.builtins.Lookup(id)
	return b.Name
}

// subscribe registers or re-registers a framework and opens its stream.
// The record is persisted before the framework gets its SUBSCRIBED: a
// framework told its id must find it after a failover.
func (m *Master) subscribe(ctx context.Context, info scheduler.FrameworkInfo) (subscription, error) {
	if err := validateFrameworkInfo(info); err != nil {
		return subscription{}, &inputError{err: err}
	}
	m.mu.Lock()
	if !m.leading {
		m.mu.Unlock()
		return subscription{}, errNotLeading
	}
	now := m.cfg.Clock.Now()
	rec := frameworkRecord{Name: info.Name, Role: info.RoleName(), User: info.User, Principal: info.Principal,
		Hostname: info.Hostname, WebUIURL: info.WebUIURL, Revocable: info.Has(scheduler.CapabilityRevocable),
		FailoverTimeout: time.Duration(info.FailoverTimeout * float64(time.Second)), RegisteredAt: now}
	if rec.FailoverTimeout == 0 {
		rec.FailoverTimeout = m.cfg.FrameworkFailoverTimeout
	}
	if info.ID != nil {
		rec.ID = info.ID.Value
		if m.isBuiltin(rec.ID) {
			// The master's own frameworks have no credential to bind:
			// whoever subscribed as one would get every app's or job's
			// task updates, kill their tasks, and leave the framework
			// disconnected until its tasks expire.
			m.mu.Unlock()
			m.log.Warn("framework subscription refused: a built-in framework id", "framework", rec.ID)
			return subscription{}, &refusedError{reason: "reserved_id",
				msg: fmt.Sprintf("framework_info.id: %q is the id of the master's own %s framework; a framework may not subscribe as it", rec.ID, m.builtinName(rec.ID))}
		}
		if _, gone := m.removedFrameworks[rec.ID]; gone {
			m.mu.Unlock()
			return subscription{}, fmt.Errorf("framework %q: %w", rec.ID, errFrameworkRemoved)
		}
		if fw := m.frameworks[rec.ID]; fw != nil {
			rec.RegisteredAt = fw.RegisteredAt
			rec.Credential = fw.Credential
		}
	} else {
		rec.ID = newFrameworkID(info.Name)
	}
	if err := m.bindFramework(ctx, &rec); err != nil {
		m.mu.Unlock()
		return subscription{}, err
	}
	m.mu.Unlock()

	sctx, cancel := m.storeCtx(ctx)
	defer cancel()
	if err := m.cfg.Store.Docs(store.Frameworks).Put(sctx, rec.ID, rec, m.election.Guard()); err != nil {
		return subscription{}, fmt.Errorf("persisting framework %s: %w: %w", rec.ID, errStore, err)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return subscription{}, errNotLeading
	}
	fw := m.frameworks[rec.ID]
	if fw == nil {
		fw = &frameworkEntry{pending: map[string]*pendingUpdate{}}
		m.frameworks[rec.ID] = fw
		m.log.Info("framework subscribed", "framework", rec.ID, "name", rec.Name, "role", rec.Role, "revocable", rec.Revocable)
	} else {
		m.log.Info("framework re-subscribed", "framework", rec.ID, "name", rec.Name, "was_connected", fw.stream != nil)
	}
	if fw.stream != nil {
		fw.stream.end("the framework subscribed again on another stream")
	}
	fw.frameworkRecord = rec
	m.deactivate(fw)
	if err := m.alloc.AddFramework(allocator.Framework{ID: rec.ID, Role: rec.Role, Revocable: rec.Revocable}); err != nil {
		return subscription{}, fmt.Errorf("framework %s: %w", rec.ID, err)
	}
	fw.stream = newEventStream()
	fw.disconnectedAt = time.Time{}
	fw.send(scheduler.Event{Type: scheduler.EventSubscribed, Subscribed: &scheduler.Subscribed{
		FrameworkID: scheduler.ID{Value: rec.ID}, HeartbeatIntervalSeconds: m.cfg.FrameworkHeartbeatInterval.Seconds()}})
	// What was not acknowledged on the previous stream is sent again.
	for _, id := range sortedKeys(fw.pending) {
		p := fw.pending[id]
		p.sentAt = now
		fw.send(scheduler.Event{Type: scheduler.EventUpdate, Update: &scheduler.UpdateEvent{Status: p.status}})
	}
	return subscription{frameworkID: rec.ID, stream: fw.stream, heartbeat: m.cfg.FrameworkHeartbeatInterval, leaderCtx: m.leaderCtx}, nil
}

var (
	errFrameworkRemoved = errors.New("framework was torn down; subscribe without an id to register anew")
	errWrongStream      = errors.New("not the framework's current stream")
	errNotSubscribed    = errors.New("framework is not subscribed")
)

// deactivate takes a framework out of the allocator: its offers are
// rescinded, its tasks' usage stays counted. Called with mu held.
func (m *Master) deactivate(fw *frameworkEntry) {
	rescinds, err := m.alloc.RemoveFramework(fw.ID)
	if err != nil && !errors.Is(err, allocator.ErrUnknownFramework) {
		m.log.Error("removing a framework from the allocator", "framework", fw.ID, "err", err)
	}
	m.rescinded(rescinds)
}

// streamEnded is called when a subscription's connection ends. A newer
// stream of the same framework is left alone.
func (m *Master) streamEnded(frameworkID, streamID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return
	}
	fw := m.frameworks[frameworkID]
	if fw == nil || fw.stream == nil || fw.stream.id != streamID {
		return
	}
	fw.stream.end("")
	fw.stream = nil
	fw.disconnectedAt = m.cfg.Clock.Now()
	m.deactivate(fw)
	m.log.Warn("framework disconnected: its tasks are kept for the failover timeout", "framework", fw.ID,
		"name", fw.Name, "failover_timeout", fw.FailoverTimeout)
}

// removeFramework kills a framework's tasks and forgets it. Called with
// mu held.
func (m *Master) removeFramework(fw *frameworkEntry, why string) {
	m.log.Warn("framework removed: killing its tasks", "framework", fw.ID, "name", fw.Name, "why", why)
	for _, id := range sortedKeys(m.tasks) {
		t := m.tasks[id]
		if t.Info.FrameworkID == fw.ID && !t.Status.State.IsTerminal() {
			m.kill(id, t.AgentID, api.ReasonFrameworkRemoved)
		}
	}
	if fw.stream != nil {
		fw.stream.end("framework removed: " + why)
		fw.stream = nil
	}
	m.deactivate(fw)
	delete(m.frameworks, fw.ID)
	m.removedFrameworks[fw.ID] = m.cfg.Clock.Now()
	id := fw.ID
	m.async(func(ctx context.Context) error {
		return m.cfg.Store.Docs(store.Frameworks).Delete(ctx, id, m.election.Guard())
	})
}

// frameworksTick expires disconnected frameworks, re-sends unacknowledged
// updates and answers the reconciliations held during recovery. Called
// with mu held, once per allocation cycle.
func (m *Master) frameworksTick(now time.Time, recovering bool) {
	for _, id := range sortedKeys(m.frameworks) {
		fw := m.frameworks[id]
		if fw.stream == nil {
			if now.Sub(fw.disconnectedAt) > fw.FailoverTimeout {
				m.removeFramework(fw, fmt.Sprintf("not re-subscribed within its failover timeout of %s", fw.FailoverTimeout))
			}
			continue
		}
		for _, tid := range sortedKeys(fw.pending) {
			p := fw.pending[tid]
			if now.Sub(p.sentAt) >= m.cfg.StatusRetryInterval {
				p.sentAt = now
				fw.send(scheduler.Event{Type: scheduler.EventUpdate, Update: &scheduler.UpdateEvent{Status: p.status}})
			}
		}
		if !recovering {
			for _, r := range fw.reconciles {
				m.reconcile(fw, r, now)
			}
			fw.reconciles = nil
		}
	}
}

// wireStatus is st as a framework sees it.
func wireStatus(st api.TaskStatus, source string) scheduler.TaskStatus {
	ws := scheduler.TaskStatus{TaskID: scheduler.ID{Value: st.TaskID}, State: string(st.State), Source: source,
		Reason: scheduler.Reason(st.Reason), Message: st.Message, UUID: st.UUID}
	if st.AgentID != "" {
		ws.AgentID = scheduler.NewID(st.AgentID)
	}
	if !st.Timestamp.IsZero() {
		ws.Timestamp = float64(st.Timestamp.UnixNano()) / 1e9
	}
	return ws
}

// forwardStatus hands a task's new status to its framework, to be
// re-sent until acknowledged. Called with mu held.
func (m *Master) forwardStatus(fw *frameworkEntry, st api.TaskStatus, now time.Time) {
	source := scheduler.SourceAgent
	if st.UUID == "" {
		source = scheduler.SourceMaster
		st.UUID = randomHex(16)
	}
	ws := wireStatus(st, source)
	fw.pending[st.TaskID] = &pendingUpdate{status: ws, sentAt: now}
	fw.send(scheduler.Event{Type: scheduler.EventUpdate, Update: &scheduler.UpdateEvent{Status: ws}})
}

// sendOnce sends a status that needs no acknowledgement: answers to
// RECONCILE and tasks refused before launch. Called with mu held.
func (fw *frameworkEntry) sendOnce(taskID, agentID string, state api.TaskState, reason, msg string, now time.Time) {
	fw.send(scheduler.Event{Type: scheduler.EventUpdate, Update: &scheduler.UpdateEvent{Status: wireStatus(api.TaskStatus{
		TaskID: taskID, AgentID: agentID, State: state, Reason: reason, Message: msg, Timestamp: now}, scheduler.SourceMaster)}})
}

// rescinded counts rescinds and tells external frameworks. Called with mu
// held.
func (m *Master) rescinded(rs []allocator.Rescind) {
	m.stats.offersRescinded += uint64(len(rs))
	for _, r := range rs {
		if fw := m.frameworks[r.FrameworkID]; fw != nil {
			fw.send(scheduler.Event{Type: scheduler.EventRescind, Rescind: &scheduler.RescindEvent{OfferID: scheduler.ID{Value: r.OfferID}}})
		}
	}
}

// sendOffers hands the cycle's offers to their external frameworks, one
// OFFERS event per framework. Called with mu held.
func (m *Master) sendOffers(offers []allocator.Offer, now time.Time) {
	byFramework := map[string][]scheduler.Offer{}
	for _, o := range offers {
		fw := m.frameworks[o.FrameworkID]
		if fw == nil || fw.stream == nil {
			// Not reachable: give the resources back at once rather
			// than hold them until the offer times out.
			_ = m.alloc.Decline(o.ID, 0, now)
			continue
		}
		wo := scheduler.Offer{ID: scheduler.ID{Value: o.ID}, FrameworkID: scheduler.ID{Value: o.FrameworkID},
			AgentID: scheduler.ID{Value: o.AgentID}, Hostname: o.Hostname, Expires: float64(o.Expires.UnixNano()) / 1e9}
		for _, part := range o.Parts() {
			wo.Resources = append(wo.Resources, scheduler.Scalars(part.Resources, part.Revocable)...)
		}
		if ag := m.agents[o.AgentID]; ag != nil {
			for _, k := range sortedKeys(ag.Attributes) {
				wo.Attributes = append(wo.Attributes, scheduler.Attribute{Name: k, Type: "TEXT", Text: &scheduler.Text{Value: ag.Attributes[k]}})
			}
		}
		byFramework[o.FrameworkID] = append(byFramework[o.FrameworkID], wo)
		fw.offers++
	}
	for _, id := range sortedKeys(byFramework) {
		m.frameworks[id].send(scheduler.Event{Type: scheduler.EventOffers, Offers: &scheduler.OffersEvent{Offers: byFramework[id]}})
	}
}

// FrameworkView is a framework as the operator API shows it.
type FrameworkView struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	Role            string    `json:"role"`
	Revocable       bool      `json:"revocable"`
	Connected       bool      `json:"connected"`
	FailoverTimeout float64   `json:"failover_timeout_seconds"`
	RegisteredAt    time.Time `json:"registered_at"`
	DisconnectedAt  time.Time `json:"disconnected_at,omitzero"`
	Tasks           int       `json:"active_tasks"`
	Unacknowledged  int       `json:"unacknowledged_updates"`
	OffersSent      uint64    `json:"offers_sent"`
	// Reason says why the framework holds no offer; empty when it holds
	// one or gets one in the next cycle.
	Reason string `json:"reason,omitempty"`
}

// Frameworks lists the external frameworks.
func (m *Master) Frameworks() ([]FrameworkView, error) { return m.frameworksOf("") }

// frameworksOf is Frameworks, only those bound to credential when it is set:
// what a framework's own credential may see.
func (m *Master) frameworksOf(credential string) ([]FrameworkView, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return nil, errNotLeading
	}
	active := map[string]int{}
	for _, t := range m.tasks {
		if !t.Status.State.IsTerminal() {
			active[t.Info.FrameworkID]++
		}
	}
	now := m.cfg.Clock.Now()
	out := make([]FrameworkView, 0, len(m.frameworks))
	for _, id := range sortedKeys(m.frameworks) {
		fw := m.frameworks[id]
		if credential != "" && fw.Credential != credential {
			continue
		}
		out = append(out, FrameworkView{ID: id, Name: fw.Name, Role: fw.Role, Revocable: fw.Revocable, Connected: fw.stream != nil,
			FailoverTimeout: fw.FailoverTimeout.Seconds(), RegisteredAt: fw.RegisteredAt, DisconnectedAt: fw.disconnectedAt,
			Tasks: active[id], Unacknowledged: len(fw.pending), OffersSent: fw.offers, Reason: m.frameworkReason(fw, now)})
	}
	return out, nil
}

// loadFrameworks reads the persisted frameworks for a new leader. They
// start disconnected, their failover timeout running from now.
func (m *Master) loadFrameworks(ctx context.Context, now time.Time) (map[string]*frameworkEntry, error) {
	out := map[string]*frameworkEntry{}
	err := m.cfg.Store.Docs(store.Frameworks).List(ctx, func(id string, raw []byte) error {
		var rec frameworkRecord
		if err := decodeJSON(raw, &rec); err != nil {
			return fmt.Errorf("framework %s: %w", id, err)
		}
		if m.isBuiltin(rec.ID) {
			// Left by a SUBSCRIBE under a built-in id (refused since):
			// kept, it would expire after its failover timeout and take
			// every app's or job's tasks with it.
			m.log.Warn("ignoring a stored framework with a built-in id", "framework", rec.ID, "credential", rec.Credential)
			return nil
		}
		out[rec.ID] = &frameworkEntry{frameworkRecord: rec, disconnectedAt: now, pending: map[string]*pendingUpdate{}}
		return nil
	})
	return out, err
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

// TeardownFramework is the operator's teardown: the framework's tasks are
// killed and its id may not subscribe again.
func (m *Master) TeardownFramework(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return errNotLeading
	}
	fw := m.frameworks[id]
	if fw == nil {
		return fmt.Errorf("framework %q: %w", id, errNotFound)
	}
	m.removeFramework(fw, "torn down by the operator")
	return nil
}
