// Package master is the cluster's brain, wired: the election, the term
// of leadership it runs while it leads, and the HTTP API in front.
//
// The leader's state and everything it serves live in one term
// (master/term): the deterministic core (master/core) with the allocator
// it owns (master/allocator), the one applier of the core's effects
// (master/effects), the built-in apps and jobs frameworks (master/apps,
// master/jobs) and the master's further Config.Frameworks, external
// frameworks, and state in etcd (master/store). Its HTTP API (operators,
// agents, apps, jobs, the scheduler API, the web UI) is master/httpapi,
// which calls the current term through the Backend of backend.go.
//
// # Leadership
//
// Only the elected leader holds state. On election (lead in master.go) it
// loads a term from etcd: apps, jobs, frameworks, dynamic attributes and
// known agents; agents are "recovering" until they re-register, and their
// reports rebuild the tasks and the allocator's usage: agents are the
// truth for what runs. Until the known agents are back (bounded by the
// agent timeout) nothing is allocated, so an app never looks short of
// instances it still has. The term runs until leadership or the context
// is lost, then is ended and its state dropped. Between terms the master
// holds an idle or ended one, which answers every call with 503: this
// master is not the leader. A standby answers every API call but
// /metrics, /healthz and /api/v1/leader with a 307 to the leader. Every
// state write is guarded by the leader's election key, so a deposed
// leader cannot write.
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
// # What outlives a term
//
// The election, the leader as last read (leader.go), and the agents'
// history for the web UI's charts (master/history, fed by every term's
// heartbeats through history.go) are the master's own.
//
// Files: master.go (config, New, Run, the term of each election, and the
// few calls made in-process), leader.go (the leader served from memory,
// the store bound), http.go and backend.go (the HTTP API's wiring: every
// call to the current term), history.go (heartbeats feed master/history)
// and names.go (the core's and the term's types under the names other
// packages use).
package master
