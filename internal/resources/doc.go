// Package resources is the small resource vector shared by the agent, the
// master, the allocator and the API: CPU cores, memory and disk bytes.
package resources
