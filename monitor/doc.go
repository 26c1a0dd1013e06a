// Package monitor measures how much CPU and memory the business on a host is
// safely not using: it is the I/O around the deciding core in
// monitor/estimate.
//
//   - A Sampler reads the host (procfs, the batch cgroup, PSI) and turns
//     counters into rates (the implementations are in monitor/sampler). It
//     has a full path, run every sampling interval (default 1 s), and a
//     cheap fast path (default 200 ms) that reads only /proc/stat and the
//     batch cgroup's CPU counter, so a business spike is seen within one
//     fast tick. Readers take an injected filesystem root, so the tests run
//     on fixture trees.
//   - Run owns the sampling goroutine: it ticks the fast and full paths on
//     an injected clock, feeds each sample to an estimate.Estimator, records
//     samples to CSV when asked (Recorder), and publishes the latest
//     snapshot for the exporter and the HTTP routes. It stops with its
//     context.
//   - LoadPolicy reads a policy file; parsing and validating it are
//     estimate.ParsePolicy's.
//
// The monitor never changes anything on the host: applying an estimate is the
// agent's job.
package monitor
