// Package monitor measures how much CPU and memory the business on a host is
// safely not using.
//
// It is built as a deterministic core with thin I/O around it:
//
//   - A Sampler reads the host (procfs, the batch cgroup, PSI) and turns
//     counters into rates. It has a full path, run every sampling interval
//     (default 1 s), and a cheap fast path (default 200 ms) that reads only
//     /proc/stat and the batch cgroup's CPU counter, so a business spike is
//     seen within one fast tick. Readers take an injected filesystem root, so
//     the tests run on fixture trees under testdata/.
//   - The Estimator takes samples and returns an Estimate: harvestable CPU
//     cores and memory bytes, the Reason that bound each, and any eviction
//     request. It has no goroutines and no clock of its own: the time of each
//     sample drives it, so a recorded trace replays exactly as it ran.
//     Shrinking is immediate (fast path included); growth waits until the
//     harvest forgone while the target sat above the estimate reaches
//     deadband × grow_after, then moves to the target by at most max_step
//     per interval, ignoring changes under the deadband. This is what keeps
//     reservation churn low.
//   - The Predictor keeps, per resource, the maximum over a short window and
//     a decaying histogram of business usage; the base prediction is the
//     larger of the two. Memory adds a margin; CPU adds an error bound
//     learned online, a high percentile of the predictor's own past errors
//     (how far new full samples rose above the base predicted before them).
//   - Run owns the sampling goroutine: it ticks the fast and full paths,
//     feeds the estimator, records samples to CSV when asked, and publishes
//     the latest snapshot for the exporter. It stops with its context.
//
// The monitor never changes anything on the host: applying an estimate is the
// agent's job.
package monitor
