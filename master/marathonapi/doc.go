// Package marathonapi serves Marathon's REST API on the master, for the
// clients and tools written for Marathon: /ping, /v2/info, /v2/leader,
// /v2/apps (with versions, restart and task kills), /v2/tasks,
// /v2/deployments, /v2/queue, /v2/groups and the /v2/events stream of
// server-sent events.
//
// It is a thin layer: documents are decoded and shaped by api/marathon,
// apps are decided by the master's apps framework behind Backend, and
// the master's HTTP layer routes here and checks credentials first. The
// event stream has no bus to listen on: each stream compares snapshots
// of the apps' tasks and deployments at a short interval and sends what
// changed, so a slow client only ever costs its own handler.
package marathonapi
