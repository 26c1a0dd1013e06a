// Package master is the cluster's brain, wired: leadership and the
// term's goroutines, the allocation loop around the pure DRF allocator
// (master/allocator), the built-in apps and jobs frameworks (master/apps,
// master/jobs), external frameworks, and state in etcd (master/store).
// The registry itself (agents, tasks, frameworks' bookkeeping, kills,
// attributes) is the deterministic core in master/core, and what it
// decides is done by the one applier in master/effects. Its HTTP API
// (operators, agents, apps, jobs, the scheduler API) is master/httpapi,
// which calls the master through the Backend of backend.go.
//
// # Leadership
//
// Only the elected leader holds state. On election it loads apps, jobs,
// frameworks, dynamic attributes and known agents from etcd; agents are
// "recovering" until they re-register, and their reports rebuild the tasks
// and the allocator's usage: agents are the truth for what runs. Until the
// known agents are back (bounded by the agent timeout) nothing is
// allocated, so an app never looks short of instances it still has. A
// standby answers every API call but /metrics, /healthz and /api/v1/leader
// with a 307 to the leader. Every state write is guarded by the leader's
// election key, so a deposed leader cannot write.
//
// # Who may call what
//
// With Config.Credentials set, every route but /metrics and /healthz needs
// a credential whose role the one access table (master/httpapi) allows for
// the route; an agent id is bound to the credential that first registered it,
// and a registration with another credential, or with the same one from
// another URL while the agent still heartbeats, is refused (the core's
// identity.go).
//
// # When etcd is unreachable
//
// No request waits on etcd longer than Config.StoreTimeout (2 s): every
// store call made for a request is bounded by it and its failure is a 503
// with Retry-After. The leader's identity, which a standby's answers and
// /api/v1/leader need, is read in the background (leader.go) and served
// from memory, so those answer at once, with 503 once the last good
// reading is older than the bound.
//
// # Concurrency
//
// One mutex guards the leader's state. Handlers and the allocation loop
// hold it for short, I/O-free sections in which they step the core
// (core.Step(event, now)) and hand its effects to the term's applier
// (effects.Applier.Apply), which never blocks: calls to agents and store
// writes go through a bounded queue to worker goroutines owned by the
// term (leaderCtx), so a slow agent never blocks the loop; what their
// outcome changes comes back to the core as an event (a refused launch),
// and a kill that cannot be delivered rides on the agent's next heartbeat
// answer. What a request must see durable before it answers (an agent's
// record) is written by the applier outside the mutex (Ready.Persist).
// Framework event streams are bounded queues filled by the applier
// without blocking and drained by the subscriptions' HTTP handlers.
//
// # The cycle
//
// Every allocation interval (loop.go), the core's Tick: silent agents
// become unreachable and later gone, disconnected frameworks past their
// failover timeout are removed, unacknowledged updates are re-sent; then
// Allocate(now) returns rescinds and offers, applied in one place: the
// built-in frameworks answer theirs at once, external frameworks get
// theirs as OFFERS events, every rescind goes out as RESCIND. What a built-in framework declines goes on
// to the next framework in the same cycle: the decline filters the
// decliner on that agent, and Allocate runs again (a bounded number of
// passes), so a job run that fits nowhere cannot hold a half core an app
// could use from one cycle to the next. Task status updates arrive on agent
// heartbeats (the core's setStatus) and reach the framework that owns the
// task. The built-in frameworks are the entries of a framework.Registry
// (builtins.go): apps, jobs, then Config.Frameworks, driven alike.
//
// Files: master.go (config, leadership, the term's core and applier),
// loop.go (the cycle, the health probes), builtins.go (the built-in
// frameworks' registry, their part of the cycle, and the frameworks as the
// core sees them), registry.go, agents.go and identity.go (the core's
// registry as the API names it: register, heartbeat, views), attributes.go
// (dynamic attributes in the store and their watch), appsops.go and
// appdefs.go (apps), jobsops.go (jobs), frameworks.go and schedulerapi.go
// (external frameworks: their streams and calls), reasons.go (what the
// schedulers explain waits with), leader.go (the leader served from
// memory, the store bound), http.go and backend.go (the HTTP API's wiring
// and what it calls), history.go (heartbeats feed master/history) and
// uiapi.go (what the web UI's routes call: the history, the agents' APIs
// through the master).
package master
