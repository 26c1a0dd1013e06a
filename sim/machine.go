package sim

import (
	"fmt"
	"io"
	"math"
	"time"
)

// The per-machine format (shared/traces/machines/README.md) is one host's
// CPU in percent, `seconds,cpu_util_percent`, at a fixed step that only the
// rows tell. An optional mem_util_percent column is read where present.

// machineMem is the business memory, as a share of the host, that stands in
// for a machine trace without a memory column. It is held constant, and the
// trace is marked CPUOnly so no memory figure is scored from it.
const machineMem = 0.40

// stepSlack is how far a row's gap may stray from the trace's step and
// still count as the same step: the seconds column is decimal text.
const stepSlack = time.Millisecond

// maxSeconds keeps a row's time within time.Duration.
const maxSeconds = float64(math.MaxInt64/int64(time.Second)) / 2

// readMachine reads the per-machine format. The step is the gap between the
// first two rows, and every later gap must equal it: a trace that skips or
// repeats samples would be replayed with the wrong load held, so it is
// refused with the line rather than silently resampled. Values above 100
// percent (a few Bitbrains samples) are clipped to the whole host.
func readMachine(r io.Reader, host Host) (Trace, error) {
	var (
		prev, step time.Duration
		hasMem     bool
	)
	row := func(idx int, v map[string]float64, host Host) (Point, error) {
		secs := v["seconds"]
		if secs > maxSeconds {
			return Point{}, &columnError{col: "seconds", err: fmt.Errorf("%v is too large", secs)}
		}
		t := time.Duration(math.Round(secs * float64(time.Second)))
		switch gap := t - prev; {
		case idx == 0:
		case gap <= 0:
			return Point{}, &columnError{col: "seconds", err: fmt.Errorf("%v is not after the previous row's %v", secs, prev.Seconds())}
		case idx == 1:
			step = gap
		case gap-step > stepSlack || step-gap > stepSlack:
			return Point{}, &columnError{col: "seconds", err: fmt.Errorf("%v is %v s after the previous row, but the step is %v s (the first two rows' gap)", secs, gap.Seconds(), step.Seconds())}
		}
		prev = t
		mem, ok := v["mem_util_percent"]
		hasMem = ok
		if !ok {
			mem = 100 * machineMem
		}
		return Point{
			Time:        epoch().Add(t),
			BusinessCPU: min(v["cpu_util_percent"], 100) / 100 * host.Cores,
			BusinessMem: uint64(min(mem, 100) / 100 * float64(host.MemBytes)),
		}, nil
	}
	tr, err := readColumns(r, "machine", host, 0, []string{"seconds", "cpu_util_percent"}, []string{"mem_util_percent"}, row)
	if err != nil {
		return Trace{}, err
	}
	if len(tr.Points) < 2 {
		return Trace{}, fmt.Errorf("machine trace: only %d data row; the step is told from the first two rows", len(tr.Points))
	}
	tr.Step = step
	tr.CPUOnly = !hasMem
	return tr, nil
}
