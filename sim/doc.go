// Package sim replays a business load trace through headroom policies and
// scores what each would have lent to batch work, side by side with
// baselines. It drives the monitor's own estimator (estimate.Estimator), so
// a policy is judged by the code that will run it, not by a model of it.
//
// # Traces
//
// A Trace is the business demand of one host, one Point per step: business
// CPU in cores and memory in bytes, held from the point's time to the next
// point's. ReadTrace reads a monitor recording (docs/recording.md; its full
// samples, business plus headroom's own use), a public cluster trace
// (Alibaba 2018, Azure 2019, Google 2019) or a per-machine trace
// (`seconds,cpu_util_percent`, any fixed step, told from the rows), scaled
// to a Host. A per-machine trace without a memory column is CPUOnly: its
// memory is held at a constant 40 % of the host and its memory figures are
// not scored.
//
// # Replay
//
// Step i starts at T(i) and lasts d(i). The harvest of step i, h(i) (CPU)
// and m(i) (memory), is the estimate once every sample describing the steps
// before i has been fed: step i's own demand is never seen before it
// happens (no foresight at the trace's resolution). Step i−1 is fed as
// full samples (Fast false, PSI absent) at the policy's sampling interval
// across (T(i−1), T(i)], the last at exactly T(i), each carrying step i−1's
// demand. A step longer than MaxSamplesPerStep intervals (default 60) is
// fed MaxSamplesPerStep samples spaced d/MaxSamplesPerStep instead; growth
// (one grow.max_step per sample) then runs slower than on a real host,
// while grow_after, the window and the histogram keep their time meaning.
//
// Batch is greedy: it uses all it is offered. The samples of step i−1 carry
// batch CPU h(i−1) (throttled to what the business leaves) and batch memory
// m(i−1) (bounded by what is physically there); MemAvailable is memory
// less business less batch, so business memory growing into what batch
// holds triggers the monitor's watermark and eviction logic as on a host.
// When an estimate asks for memory back (EvictBytes > 0), the simulated
// agent frees it at once for the rest of the step.
//
// # Scores
//
// With the policy's reserve R (CPU r, memory M) and business b(i):
//
//	oracle(i)     = max(0, cores − r − b(i))          the CPU truly idle
//	oracleMem(i)  = max(0, memory − M − bmem(i))
//
// No ceiling and no margin: those are a policy's caution, not the host's
// need. Then, over all steps, weighting by d(i):
//
//   - Efficiency = Σ min(h, oracle)·d / Σ oracle·d: the share of the idle
//     CPU lent (1 when nothing was ever idle).
//   - InterferenceTimeRatio = Σ d over steps with h > oracle (+1e-9) / Σ d:
//     how often batch was offered CPU the business needed.
//   - InterferenceCoreSeconds = Σ (h − oracle)·d over those steps.
//   - ChangesPerHour = steps whose h differs from the step before / hours;
//     MemChangesPerHour the same for m.
//   - HarvestedCoreHours = Σ min(h, oracle)·d / 3600; HarvestedGiBHours the
//     same for memory, in GiB.
//   - MemInterferenceTimeRatio = Σ d over steps with m > oracleMem / Σ d.
//   - Evictions = steps in which the monitor asked for batch memory back.
//   - Reasons = share of time each estimate.Reason bound h.
//
// # Baselines
//
// Scored the same way, against the same oracle (the policy's reserve):
// Fixed offers a static Config.FixedCPUs / FixedMem (default 25 % of the
// host), as a Mesos-style static reservation would; Koordinator offers
// threshold × capacity minus the business's average over the last 5
// minutes, recomputed every minute from past steps only (threshold 0.60);
// Oracle offers oracle(i) itself, with perfect foresight.
//
// Frontier is the bar rather than a policy: the best plain window-max
// policy for the trace, chosen in hindsight from a grid (window 1 min–1 h,
// margin 10–200 % of the window's maximum, grow delay 0–15 min after a
// shrink). Each run of the grid is causal; only the choice of the run
// with the largest harvest whose interference time is within
// Config.InterferenceBudget (0.1 %) uses the whole trace. CompareFrontier
// sets each report's FrontierRatio, its efficiency over the frontier's.
//
// # Host sizes
//
// PolicyFor sizes a policy's reserve to a host (reserveFor), so a policy
// replayed at several sizes is scored against the reserve each would keep.
package sim
