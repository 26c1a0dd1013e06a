// Package exporter is the one place where headroom's metrics are named.
//
// Catalogue lists every metric of every component (name, type, help, labels,
// unit); docs/metrics.md is rendered from it and the collectors build their
// descriptors from it, so a metric cannot exist without being documented.
//
// Mirrored state (the monitor's estimate, the agent's tasks, the master's
// agents) is exported through custom collectors that read a snapshot at
// scrape time, as node_exporter does, so a scrape never sees half an update.
// A component's own operations (sample durations, errors) are instrumented
// directly with client_golang metrics.
//
// Conventions: the headroom_ prefix, base units (seconds, bytes, cores as
// CPU seconds per second), _total for counters, _info for metadata, and no
// unbounded labels (no task ids on the master).
package exporter
