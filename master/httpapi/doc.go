// Package httpapi is the master's HTTP API: the operators' API (agents,
// tasks, state, frameworks), the agent protocol's registration and
// heartbeat, Marathon's API for the apps framework (/ping, /v2/...,
// served by master/marathonapi), the Metronome-style jobs API (/v1/jobs)
// and the Mesos v1 scheduler API (/api/v1/scheduler).
//
// Handlers only turn requests into calls on a Backend and answers back
// into HTTP: this package owns the routes, the strict decoding of bodies,
// the mapping of errors onto status codes (by the Kind the backend gives
// each error), the views (an app or a job as the API shows it), the one
// access table (RouteRules) with the credentials policy in front, the
// redaction of env values for callers who are not operators, and the
// standby's redirect to the leader. It keeps no state of its own: what the
// cluster is lives behind the Backend, which the master implements.
//
// Files: handler.go (New, the operators' and agents' routes, errors),
// marathon.go (mounts master/marathonapi), jobs.go (the jobs API and its
// views), scheduler.go (calls, read as Mesos reads them, and the event
// stream, framed as the client asks), access.go (who may call
// what), redact.go (env values), backend.go (what handlers call), ui.go
// (the web UI's pages, master/ui, and the routes it adds).
package httpapi
