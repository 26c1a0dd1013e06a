// Package api holds the wire types shared by the master, the agents and the
// CLI: the agent ↔ master protocol (registration, heartbeats carrying the
// harvestable pool and task status updates), task descriptions and states,
// and the strict JSON decoding every API uses.
//
// Status updates are at-least-once: an agent re-sends each one, identified
// by its UUID, on every heartbeat until the master acknowledges it, so a
// master failover or a lost response loses none. Ids are restricted to a
// charset that is safe as a directory name, a cgroup name and a label value,
// because they become all three.
package api
