// Package httpserver runs the HTTP listeners of every headroom component the
// same way: exporter-toolkit's web config for TLS and basic auth (as
// Prometheus exporters do), a graceful shutdown tied to a context, and the
// same limits on every request (Guard): read-header, body-read, write and
// idle timeouts, one body size limit answered with 413, and one JSON error
// shape.
//
// The timeouts are what keep slow clients from holding goroutines: a body
// that trickles in is cut when its read deadline passes, whatever the
// handler does with it, so a few hundred slow uploads cannot starve the
// heartbeats served by the same process.
package httpserver
