// Package auth holds who may call a headroom master: credentials (bearer
// tokens, each with a role and, for agents, an optional agent id), kept
// hashed in memory and in the credentials file, and the HTTP middleware
// that authenticates a request and checks its role against the route's
// rule.
//
// Roles: operator may call everything; reader may only read (GET, HEAD)
// the routes that allow it (the web UI, dashboards); agent may call the
// agent protocol (register, heartbeat); framework the scheduler API.
// A master without credentials (--insecure) does not use this package.
package auth
