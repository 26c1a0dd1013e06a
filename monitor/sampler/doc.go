// Package sampler implements monitor.Sampler: it reads the host's counters
// and turns them into the rates an estimate.Sample carries.
//
// Proc is the Linux sampler. It reads procfs under an injected root
// (Config.ProcRoot, "/proc" by default) and the batch cgroup through a
// CgroupReader, so tests and benchmarks run on fixture trees under testdata/
// or a temporary directory, and a fake reader stands in for the cgroup.
// Fallback is the portable sampler built on gopsutil for hosts without
// procfs: it sees host CPU and memory and its own process, nothing else.
//
// A sampler has two paths. The full path (Sample, every sampling interval)
// reads everything: host CPU from /proc/stat, memory from /proc/meminfo, the
// batch cgroup's CPU time and working set, headroom's own process, PSI from
// /proc/pressure and the optional named services. The fast path (SampleFast,
// several times per interval) only reads /proc/stat and the batch cgroup's
// CPU counter, so that a business CPU spike shrinks the estimate within one
// fast tick. Each path keeps its own previous counters: a rate is always
// averaged over the time since the previous call of the same kind, measured
// with the now argument rather than the wall clock, which keeps tests
// deterministic. The first call of each kind only records counters and
// returns ErrWarmingUp.
//
// The fast path must stay cheap because it runs often on every host of the
// fleet. It does not use procfs.Stat: that parses the whole of /proc/stat,
// including the intr line, which holds one counter per interrupt and runs to
// tens of kilobytes on large hosts, and allocates for every field. Instead it
// reads /proc/stat into a buffer that is reused across calls and parses only
// the leading cpu lines with a byte-level parser (parseProcStatCPU) that
// stops at the first line after them. The full path uses the same parser for
// host CPU, so both paths agree on what "busy" means.
//
// Process-selected services are the only expensive part of the full path:
// they need a scan of every /proc/PID. The scan is skipped entirely when no
// service uses a process selector. When it runs, each pid costs an
// openat(2) relative to the ProcRoot descriptor, one read and a close (plus
// the cmdline for Cmdline selectors): a few microseconds of kernel time per
// process, so a host with thousands of processes pays milliseconds per full
// sample for this visibility-only feature.
//
// Parsers are pure functions over bytes and are tested directly; readers
// around them only do I/O. Malformed or truncated input is an error that
// names the file, never a panic. A counter that goes backwards (a cgroup
// recreated, a pid reused) yields a zero delta rather than a negative or huge
// rate.
package sampler
