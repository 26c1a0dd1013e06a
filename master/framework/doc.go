// Package framework is what the master's built-in frameworks share: the
// Framework interface the master's allocation cycle drives, the Registry
// they are registered in, and the types they trade with the master and
// with each other (Offer, Launch, Agent; Constraint, Fetch and the
// validation of both; Explain and the texts of the reasons a task waits
// for).
//
// Adding a built-in framework is one registration: a Builtin naming its
// id and how each term of leadership builds it, passed to the master in
// its Config (the master registers the apps and jobs frameworks the same
// way, first). The master adds each to the allocator, suppressed until it
// wants offers; every cycle it revives or suppresses it, hands it its
// offers and launches what it returns, routes its tasks' status updates
// to it (those of tasks an agent re-reports after a failover included, so
// the framework adopts them), runs its Tick, tells it of changed agent
// attributes when it is an AttributesWatcher, and refuses its id to
// external frameworks.
//
// Like the schedulers, a Framework is a pure state machine: the master
// calls it with its lock held and the current time, and it answers with
// values. What it persists is the master's side: Builtin.New reloads it
// at the start of a term, Builtin.AfterTick hands changed state to the
// store.
//
// The apps and jobs schedulers implement Framework themselves
// (master/apps/framework.go, master/jobs/framework.go): each is already
// the state machine the interface describes, so an adapter package would
// only forward every call. Their store I/O stays with the master's term
// (master/term/appsops.go, master/term/jobsops.go), next to their
// endpoints.
//
// The package starts no goroutines, reads no clock and does no I/O. A
// Registry is a value each term of the master builds; nothing is registered at
// package level.
package framework
