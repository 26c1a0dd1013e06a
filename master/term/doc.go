// Package term is one term of leadership of the master: what the elected
// leader loaded from the store, the goroutines that serve it, and every
// call the HTTP API makes of the leader. The root package (master) wins
// the election, builds a Term with Load, runs it until the lead is lost
// and ends it; a term is never reused, the next one loads afresh.
//
// # What a term holds
//
// One mutex guards it all: the term's core (master/core: agents, tasks,
// frameworks' bookkeeping, kills, attributes, and the allocator the core
// owns), the applier of the core's effects (master/effects), the
// built-in frameworks started for the term (apps and jobs, then the
// master's Config.Frameworks; the registry of builtins.go), and the
// counters. Handlers and the loops hold the mutex for short, I/O-free
// sections in which they step the core (core.Step(event, now)) and hand
// its effects to the applier, which never blocks: calls to agents and
// store writes go through a bounded queue to worker goroutines, and what
// their outcome changes comes back to the core as an event. What a
// request must see durable before it answers (an agent's record, an
// app's or a job's definition) is written outside the mutex, bounded by
// Config.StoreTimeout.
//
// # Its goroutines
//
// Run runs them in one errgroup until its context ends: the applier's
// workers, the allocation cycle (loop.go), the apps' health probes
// (loop.go) and the watch of the dynamic attributes in etcd
// (attributes.go). Every allocation interval the cycle steps the core's
// Tick; unless the leader still waits for its known agents, it then
// steps Allocate up to a pass per built-in framework and one more: the
// built-in frameworks answer their offers at once (AnswerOffers), and
// what one declines goes on to the next in the same cycle; external
// frameworks got theirs as OFFERS events. Then each built-in framework's
// Tick and AfterTick.
//
// # Files
//
// term.go (Config, Load, Run, End), loop.go (the cycle, the probes),
// builtins.go (the built-in frameworks' registry, their part of the
// cycle, and the frameworks as the core sees them), reasons.go (what the
// schedulers explain waits with), agents.go (register, heartbeat, views,
// the summary), attributes.go (dynamic attributes in the store and their
// watch), appsops.go and appdefs.go (apps), jobsops.go (jobs),
// frameworks.go and schedulerapi.go (external frameworks: their streams
// and calls), uiapi.go (the web UI's calls to agents) and errors.go (what
// the errors mean to the HTTP API).
package term
