// Package history keeps a bounded in-memory series of the cluster's and
// each agent's figures (business, batch, harvest and the applied
// reservation, for CPU and memory, with the reason that bounds the
// harvest), fed from the agents' heartbeats, for the web UI's charts.
//
// It is pure: the caller passes the time of every observation, nothing
// runs in the background, and the memory per agent is fixed (two ring
// buffers allocated once: a fine one of recent buckets and a coarse one
// downsampled from it). BenchmarkMemory50k states the cost at 50,000
// agents. A History is safe for concurrent use; Handler serves it as JSON
// (GET /api/v1/history on the master).
package history
