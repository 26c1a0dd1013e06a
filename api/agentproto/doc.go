// Package agentproto is the agent ↔ master protocol: its wire types and
// the one HTTP client every headroom component calls another with (agents
// and the CLI call the masters, the master calls its agents).
//
// # Who calls whom
//
// Agents call the master:
//
//	POST /api/v1/agents/register        RegisterRequest  → RegisterResponse
//	POST /api/v1/agents/{id}/heartbeat  Heartbeat        → HeartbeatResponse
//
// An agent registers on start and whenever the master asks (a 404 on a
// heartbeat: the master does not know it; or Reregister in an answer: the
// master marked it unreachable), with the tasks it runs: after a master
// failover they are the truth the new leader rebuilds from. It then
// heartbeats every RegisterResponse.HeartbeatIntervalSeconds with its
// pools, usage, estimate, static attributes and every status update not
// yet acknowledged. The answer acknowledges updates by UUID, carries the
// effective attributes when they changed and the tasks to kill.
//
// The master calls the agent's local API:
//
//	POST /api/v1/tasks             api.TaskInfo  → 202
//	POST /api/v1/tasks/{id}/kill   KillRequest   → 202
//	POST /api/v1/tasks/{id}/check  CheckRequest  → 200 CheckResult
//
// # Errors
//
// Every 4xx and 5xx answer has an api.Error body (message, details);
// Client returns it as a *StatusError with the code. Bad input is a 400
// (undecodable body) or 422 (a field is wrong, named in the details); an
// unknown agent or task 404; a refused credential 401, a role that may
// not call the route or an agent id bound to another credential 403; a
// standby without a leader or a store outage 503.
//
// # Retries and delivery
//
// Client.Do moves along its URL list when a peer does not answer or
// answers 503, and stops at any other answer; it follows a standby's 307
// to the leader keeping the bearer token (KeepAuthOnRedirect). The agent
// retries registration and heartbeats with backoff forever. Status
// updates are at-least-once: an agent re-sends each one, identified by
// its UUID, on every heartbeat until the master acknowledges it, so a
// master failover or a lost answer loses none. The master queues launches
// and kills to workers; a kill it cannot deliver rides on the agent's next
// heartbeat answer, a launch it cannot deliver fails the task. A check is
// bounded by its own timeout plus CheckSlack.
package agentproto
