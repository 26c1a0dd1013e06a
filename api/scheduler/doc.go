// Package scheduler is the framework side of the master's scheduler API
// (POST /api/v1/scheduler): the calls and events, in the JSON shapes of
// the Mesos v1 scheduler HTTP API, and a client for them.
//
// A framework opens one long-lived SUBSCRIBE request. The master answers
// 200 with a Mesos-Stream-Id (and Headroom-Stream-Id) header and keeps the
// body open: a stream of events (SUBSCRIBED first, then OFFERS, RESCIND,
// UPDATE, HEARTBEAT and ERROR), RecordIO-framed as Mesos frames them, or
// one JSON object per line for a client that asks for
// application/x-ndjson, as this package's client does (NegotiateStream). Every other call is a separate
// POST to the same endpoint that carries the stream id and the framework
// id, answered 202 at once; its effects arrive as events. A call without
// the header is answered 400, one with a stream id that is not the
// framework's current stream 403.
//
// Status updates are at-least-once: the master re-sends each update that
// carries a uuid until the framework acknowledges it (ACKNOWLEDGE with the
// same uuid), and the newest unacknowledged update of a task replaces the
// older ones. Updates without a uuid (answers to RECONCILE, tasks refused
// at launch) need no acknowledgement.
//
// Names follow Mesos wherever the concept is the same: agent_id rather
// than slave_id, offer resources as a list of SCALAR resources with a
// "revocable": {} marker on the harvested part and allocation_info,
// attributes as TEXT, uuids as base64 bytes, reasons from Mesos's enum
// (headroom's own in a label). A framework written with a Mesos client
// library runs unchanged: calls are read as Mesos reads them (DecodeCall:
// unknown fields and nulls left out and reported, wrong types refused),
// and what headroom does not implement (reservations, volumes, containers,
// executors) is refused where it is asked for, never silently dropped.
//
// The client keeps no state of its own beyond the subscription: the
// framework decides when to resubscribe (after a stream error, with its
// framework id, within its failover timeout) and what to reconcile.
package scheduler
