// Package effects is the one place where the master's decisions touch the
// world. The deterministic core (master/core) returns effects as values;
// an Applier carries them out: store writes, calls to agents, events on
// framework streams, metrics.
//
// It is a package of its own, rather than a file of the root master, so
// that everything with I/O the core asks for is in one small place with
// one set of rules, and the root package keeps leadership and wiring
// only:
//
//   - Apply never blocks: it is called under the master's mutex, right
//     after the Step that returned the effects. Agent calls and
//     fire-and-forget store writes go to a bounded queue drained by the
//     term's workers (Run); when the queue is full they wait in a backlog
//     that DrainBacklog (once per cycle) moves on. Stream events are
//     queued on the subscription without blocking.
//   - Persist is the exception, for what a request must see durable before
//     it is answered (an agent's record on registration): the caller runs
//     it outside the mutex, bounded by its context.
//   - What comes back from the world (an agent refusing a launch, a kill
//     that could not be delivered) goes back to the core as an event,
//     through Config.Feedback: the applier decides nothing.
//
// One Applier serves one leadership term; its workers stop with the
// term's context, so work queued under one term never runs under the
// next.
package effects
