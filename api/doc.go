// Package api holds the wire types shared by the master, the agents, the
// frameworks and the CLI: task descriptions, states and status updates, the
// error body of every API, and the strict JSON decoding every API uses.
// The agent ↔ master protocol and the client are in api/agentproto.
//
// Ids are restricted to a charset that is safe as a directory name, a
// cgroup name and a label value, because they become all three.
package api
