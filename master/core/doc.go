// Package core is the master's deterministic core: the agent registry,
// the tasks, the external frameworks' bookkeeping, kills and dynamic
// attributes of one leadership term, changed only by events and
// answering with effects, in the shape of etcd-io/raft's RawNode.
//
// The core has no goroutines, reads no clock, does no I/O and draws no
// random numbers of its own: the time of every event is passed in, ids
// and UUIDs come from Config.Random, and what must happen in the world
// comes back as values. The same events at the same times always give the
// same effects; wherever a map is walked and the order could matter, keys
// are sorted. That is what lets the scripts under testdata drive it
// command by command and check every effect it asks for.
//
// # Usage
//
// The root master makes a Core when it is elected, from what it loaded
// from the store (Restore), and steps it under its mutex:
//
//	r := c.Step(core.Heartbeat{Heartbeat: hb}, now)
//	applier.Apply(r.Effects)     // under the same lock; never blocks
//	...
//	applier.Persist(ctx, r.Persist) // outside it, before answering
//	return r.Reply, r.Err
//
// As with raft's Ready, a Step's Persist must be durable before the
// request that caused it is answered (a registered agent must find its id
// after a failover), while its Effects are applied in order right away
// and never block. Reply is the event's answer, typed per event; Err its
// refusal, with the messages and sentinel errors (ErrNotFound,
// ErrUnknownAgent, ...) the HTTP layer maps onto status codes.
//
// Read-only questions (Agents, Tasks, Frameworks, Counts, Agent,
// AgentAttributes, ActiveAgentURL, CheckAgentCaller, PrepareSubscribe)
// are plain methods: they change nothing and emit nothing.
//
// # Events
//
//   - Register, Heartbeat: an agent's registration and heartbeats, with
//     their pools, reported tasks and status updates. Its reported tasks
//     are the truth: they are adopted (counted as used in the allocator,
//     handed to their frameworks), and a task the master placed on it
//     but it no longer reports is lost.
//   - Tick: the passing of time, once per allocation cycle. Silent agents
//     become unreachable, then gone; disconnected frameworks past their
//     failover timeout are removed; unacknowledged updates are re-sent;
//     reconciliations held during recovery are answered. Its reply says
//     whether the leader still waits for the agents it knows.
//   - Launch, Kill, KillByRequest, TaskStatus: the frameworks' and the
//     operator's decisions about tasks.
//   - LaunchFailed, KillUndelivered: what the applier saw when it called
//     an agent. They come back as events so that the applier decides
//     nothing.
//   - Allocate: one allocation. What it takes back is rescinded, what it
//     offers external frameworks goes out as OFFERS; its reply is the
//     offers to built-in frameworks, which answer them at once in the
//     master's cycle with AnswerOffers (accept, decline, launch).
//     WantOffers revives or suppresses a built-in framework.
//   - SetDynamic: the operator's attributes of a hostname changed.
//   - Subscribe, StreamEnded, Teardown, SchedulerCall: the external
//     frameworks' life: a subscription (its record first stored, from
//     PrepareSubscribe), its stream ending, the operator's teardown, and
//     every call on the stream (ACCEPT, DECLINE, KILL, ACKNOWLEDGE,
//     RECONCILE, REVIVE, SUPPRESS, TEARDOWN).
//
// # Effects
//
//   - PersistAgent, DeleteAgent, DeleteFramework: store writes.
//   - LaunchTask, KillTask: calls to an agent's API at its URL.
//   - SendEvent, EndStream: a framework's stream, named by its id. The
//     core knows only the id of a framework's current stream; the queue
//     and the connection are the applier's and the HTTP handler's.
//   - TaskLaunched, TaskEnded, RegistrationRefused, Count: metrics.
//
// # The allocator
//
// The term's allocator (master/allocator, pure as well) is the core's
// alone once the core is made (the term registers its built-in
// frameworks in it before): the core tells it about agents (added,
// re-registered, pools, attributes, removed), external frameworks
// (subscribed, deactivated), task usage (adopted, ended) and the calls of
// external frameworks (ACCEPT, DECLINE, REVIVE, SUPPRESS); the master's
// cycle reaches it through Allocate, AnswerOffers and WantOffers, and
// reads it through the views FreeCapacity and Allocation
// (allocation.go). So every change to it is made in a Step.
//
// # Built-in frameworks
//
// The master's own frameworks (apps, jobs) are pure schedulers too. The
// core reaches them through Builtins, in the same Step: it hands them
// their tasks' statuses and agents' attribute changes and forgets gone
// agents for them, and kills what they answer with. A framework id that
// Builtins names is reserved: no external framework may subscribe as it.
//
// # Invariants
//
// After every Step, and the scripts check it after every command:
//
//   - an agent is in the allocator exactly while it is active; an
//     unreachable or recovering agent gets no offers;
//   - a task's resources are counted as used in the allocator at most
//     once, only while the task has not ended and its agent is in the
//     allocator: a re-registration starts the agent afresh and counts
//     what it reports; an end releases them exactly once;
//   - only the agent a task was placed on may change its state; another
//     agent's report is refused, and a copy it runs is killed;
//   - a framework is connected (it has a stream id) or disconnected since
//     a time, never neither; a removed framework id never comes back in
//     the term;
//   - every status a framework is sent for a task it owns is re-sent
//     until acknowledged, the newest per task, also across re-subscribes;
//   - a kill that cannot be called now (the agent is not active, or its
//     API did not take it) is kept for the agent's next heartbeat.
//
// # Recovery
//
// A new leader knows agents from the store only. They are recovering:
// their heartbeats are refused until they register again and report what
// runs on them. Until they are all back, or Restore.RecoverUntil passes,
// Tick says so, the master allocates nothing, and reconciliations wait:
// answered before the agents report, they would call running tasks
// unknown.
package core
