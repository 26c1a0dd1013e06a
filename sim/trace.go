package sim

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/headroom-dev/headroom/monitor"
)

// Host is the simulated machine. Traces given as fractions of a machine
// are scaled to it.
type Host struct {
	Cores    float64
	MemBytes uint64
}

// Point is the business demand during one trace step, from Time to the
// next point's Time (or Time+Step for the last point).
type Point struct {
	Time        time.Time
	BusinessCPU float64 // cores
	BusinessMem uint64  // bytes
}

// Trace is a business load replayed on Host. Step is the nominal spacing
// of the points; the points' own times are what the simulator uses, so a
// recording with a gap keeps its gap.
type Trace struct {
	Host   Host
	Step   time.Duration
	Points []Point
	// CPUOnly says the trace has no memory series: its BusinessMem is a
	// constant stand-in, so the memory figures of a Report are not scored
	// (they stay zero).
	CPUOnly bool
}

// Formats returns the trace formats ReadTrace accepts besides "auto". A
// function, not a variable, so no caller can change the list for others.
func Formats() []string { return []string{"record", "machine", "alibaba", "azure", "google"} }

// epoch is where traces without absolute times start. Any fixed instant
// does; it is far from the zero time.Time the estimator treats as "never".
func epoch() time.Time { return time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC) }

// Steps of the public traces (see /work/shared/traces/README.md).
const (
	alibabaStep = 10 * time.Second
	googleStep  = 300 * time.Second
	azureStep   = 300 * time.Second // only used for a one-row trace
	// azureMax is the share of the host the busiest Azure row gets: the
	// Azure series is in arbitrary units.
	azureMax = 0.80
)

// ReadTrace reads a trace in one of Formats(), or "auto" to tell the format
// from the header. host scales the percentage and fraction formats; for a
// recording, a zero field of host is taken from the first full sample.
// Errors name the line and, for a bad value, the column.
func ReadTrace(r io.Reader, format string, host Host) (Trace, error) {
	br := bufio.NewReader(r)
	if format == "" || format == "auto" {
		head, err := br.Peek(512)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return Trace{}, fmt.Errorf("trace: %w", err)
		}
		line, _, _ := strings.Cut(string(head), "\n")
		if format, err = DetectFormat(line); err != nil {
			return Trace{}, err
		}
	}
	if format != "record" && (host.Cores <= 0 || host.MemBytes == 0) {
		return Trace{}, fmt.Errorf("%s trace: host needs cores > 0 and memory > 0, got %v cores, %d bytes", format, host.Cores, host.MemBytes)
	}
	switch format {
	case "record":
		return readRecord(br, host)
	case "machine":
		return readMachine(br, host)
	case "alibaba":
		return readColumns(br, format, host, alibabaStep, []string{"cpu_util_percent", "mem_util_percent"}, nil, alibabaRow)
	case "google":
		return readColumns(br, format, host, googleStep, []string{"avg_cpu", "avg_mem"}, nil, googleRow)
	case "azure":
		tr, err := readColumns(br, format, host, azureStep, []string{"timestamp", "cpu_usage", "assigned_mem"}, nil, azureRow)
		if err != nil {
			return Trace{}, err
		}
		return scaleAzure(tr), nil
	default:
		return Trace{}, fmt.Errorf("trace format %q: want auto or one of %s", format, strings.Join(Formats(), ", "))
	}
}

// DetectFormat tells the format from a CSV header line.
func DetectFormat(header string) (string, error) {
	cols := strings.Split(strings.TrimSpace(strings.TrimPrefix(header, "\ufeff")), ",")
	has := func(names ...string) bool {
		for _, n := range names {
			if !slices.Contains(cols, n) {
				return false
			}
		}
		return true
	}
	switch {
	case has("time", "kind", "business_cpu_cores"):
		return "record", nil
	case has("seconds", "cpu_util_percent"):
		return "machine", nil
	case has("cpu_util_percent", "mem_util_percent"):
		return "alibaba", nil
	case has("timestamp", "cpu_usage"):
		return "azure", nil
	case has("avg_cpu", "avg_mem"):
		return "google", nil
	}
	return "", fmt.Errorf("trace header %q: not a known format (%s); pass --format", header, strings.Join(Formats(), ", "))
}

// readRecord keeps only the full samples of a recording: the simulator
// feeds full samples, and fast rows carry no memory.
func readRecord(r io.Reader, host Host) (Trace, error) {
	samples, err := monitor.ReadRecording(r)
	if err != nil {
		return Trace{}, fmt.Errorf("record trace: %w", err)
	}
	var tr Trace
	for _, s := range samples {
		if s.Fast {
			continue
		}
		if n := len(tr.Points); n > 0 {
			prev := tr.Points[n-1].Time
			if !s.Time.After(prev) {
				return Trace{}, fmt.Errorf("record trace: full sample at %s is not after the previous one (%s)", s.Time.Format(time.RFC3339Nano), prev.Format(time.RFC3339Nano))
			}
		} else {
			if host.Cores <= 0 {
				host.Cores = s.OnlineCPUs
			}
			if host.MemBytes == 0 {
				host.MemBytes = s.MemTotal
			}
		}
		// headroom's own use is business for the estimator; keep it so.
		tr.Points = append(tr.Points, Point{Time: s.Time, BusinessCPU: s.BusinessCPU + s.SelfCPU, BusinessMem: s.BusinessMem + s.SelfMem})
	}
	if len(tr.Points) == 0 {
		return Trace{}, errors.New("record trace: no full samples")
	}
	if host.Cores <= 0 || host.MemBytes == 0 {
		return Trace{}, fmt.Errorf("record trace: host size unknown (%v cores, %d bytes); pass it", host.Cores, host.MemBytes)
	}
	tr.Host = host
	// The monitor's default interval stands for a one-sample recording.
	tr.Step = nominalStep(tr.Points, time.Second)
	return tr, nil
}

// rowFunc turns one row's named values into a point. idx is the row index
// (0 for the first data row). An optional column the header lacks is
// absent from v.
type rowFunc func(idx int, v map[string]float64, host Host) (Point, error)

func alibabaRow(idx int, v map[string]float64, host Host) (Point, error) {
	for _, c := range []string{"cpu_util_percent", "mem_util_percent"} {
		if v[c] > 100 {
			return Point{}, &columnError{col: c, err: fmt.Errorf("%v is above 100 percent", v[c])}
		}
	}
	return Point{
		Time:        epoch().Add(time.Duration(idx) * alibabaStep),
		BusinessCPU: v["cpu_util_percent"] / 100 * host.Cores,
		BusinessMem: uint64(v["mem_util_percent"] / 100 * float64(host.MemBytes)),
	}, nil
}

func googleRow(idx int, v map[string]float64, host Host) (Point, error) {
	for _, c := range []string{"avg_cpu", "avg_mem"} {
		if v[c] > 1 {
			return Point{}, &columnError{col: c, err: fmt.Errorf("%v is more than a whole machine", v[c])}
		}
	}
	return Point{
		Time:        epoch().Add(time.Duration(idx) * googleStep),
		BusinessCPU: v["avg_cpu"] * host.Cores,
		BusinessMem: uint64(v["avg_mem"] * float64(host.MemBytes)),
	}, nil
}

// azureRow keeps the raw units in the point; scaleAzure rescales them once
// the series' maximum is known.
func azureRow(_ int, v map[string]float64, _ Host) (Point, error) {
	ts := v["timestamp"]
	if ts > float64(math.MaxInt64/int64(time.Second)) {
		return Point{}, &columnError{col: "timestamp", err: fmt.Errorf("%v seconds is too large", ts)}
	}
	return Point{
		Time:        epoch().Add(time.Duration(ts * float64(time.Second))),
		BusinessCPU: v["cpu_usage"],
		BusinessMem: uint64(v["assigned_mem"]),
	}, nil
}

// scaleAzure maps the arbitrary units to the host: the busiest row becomes
// azureMax of the host, for CPU and memory alike.
func scaleAzure(tr Trace) Trace {
	var maxCPU float64
	var maxMem uint64
	for _, p := range tr.Points {
		maxCPU = max(maxCPU, p.BusinessCPU)
		maxMem = max(maxMem, p.BusinessMem)
	}
	for i := range tr.Points {
		p := &tr.Points[i]
		if maxCPU > 0 {
			p.BusinessCPU = p.BusinessCPU / maxCPU * azureMax * tr.Host.Cores
		}
		if maxMem > 0 {
			p.BusinessMem = uint64(float64(p.BusinessMem) / float64(maxMem) * azureMax * float64(tr.Host.MemBytes))
		}
	}
	return tr
}

type columnError struct {
	col string
	err error
}

func (e *columnError) Error() string { return "column " + e.col + ": " + e.err.Error() }
func (e *columnError) Unwrap() error { return e.err }

// readColumns reads a CSV whose header names at least the needed columns,
// in any order, and turns each row into a point with fn; the optional
// columns are read too where the header has them. step is the format's
// documented step, the nominal step of a one-row trace.
func readColumns(r io.Reader, format string, host Host, step time.Duration, need, optional []string, fn rowFunc) (Trace, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // a short row is reported below, with its column
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return Trace{}, fmt.Errorf("%s trace line 1 (header): %w", format, err)
	}
	pos := make(map[string]int, len(need)+len(optional))
	cols := make([]string, 0, len(need)+len(optional)) // the columns read, in order
	for k, n := range slices.Concat(need, optional) {
		i := slices.Index(head, n)
		if i < 0 && len(head) > 0 && strings.TrimPrefix(head[0], "\ufeff") == n {
			i = 0
		}
		if i < 0 {
			if k >= len(need) {
				continue
			}
			return Trace{}, fmt.Errorf("%s trace line 1 (header): no column %q in %q", format, n, strings.Join(head, ","))
		}
		pos[n] = i
		cols = append(cols, n)
	}
	tr := Trace{Host: host}
	vals := make(map[string]float64, len(cols))
	for idx := 0; ; idx++ {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return Trace{}, fmt.Errorf("%s trace: %w", format, err)
		}
		for _, n := range cols {
			i := pos[n]
			if i >= len(row) {
				return Trace{}, fmt.Errorf("%s trace line %d column %s: missing (row has %d fields)", format, line, n, len(row))
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(row[i]), 64)
			if err == nil && (math.IsNaN(v) || math.IsInf(v, 0) || v < 0) {
				err = errors.New("must be a finite number >= 0")
			}
			if err != nil {
				return Trace{}, fmt.Errorf("%s trace line %d column %s: %q: %w", format, line, n, row[i], err)
			}
			vals[n] = v
		}
		p, err := fn(idx, vals, host)
		if err != nil {
			return Trace{}, fmt.Errorf("%s trace line %d %w", format, line, err)
		}
		if n := len(tr.Points); n > 0 && !p.Time.After(tr.Points[n-1].Time) {
			return Trace{}, fmt.Errorf("%s trace line %d column timestamp: time does not increase", format, line)
		}
		tr.Points = append(tr.Points, p)
	}
	if len(tr.Points) == 0 {
		return Trace{}, fmt.Errorf("%s trace: no data rows", format)
	}
	tr.Step = nominalStep(tr.Points, step)
	return tr, nil
}

// nominalStep is the median gap between points: robust to the odd missing
// row. With a single point there is no gap, and def is used.
func nominalStep(pts []Point, def time.Duration) time.Duration {
	if len(pts) < 2 {
		return def
	}
	gaps := make([]time.Duration, 0, len(pts)-1)
	for i := 1; i < len(pts); i++ {
		gaps = append(gaps, pts[i].Time.Sub(pts[i-1].Time))
	}
	slices.Sort(gaps)
	return gaps[len(gaps)/2]
}

// Validate checks what the simulator relies on.
func (tr Trace) Validate() error {
	if tr.Host.Cores <= 0 || math.IsNaN(tr.Host.Cores) || math.IsInf(tr.Host.Cores, 0) {
		return fmt.Errorf("trace: host cores must be > 0, got %v", tr.Host.Cores)
	}
	if tr.Host.MemBytes == 0 {
		return errors.New("trace: host memory must be > 0")
	}
	if tr.Step <= 0 {
		return fmt.Errorf("trace: step must be > 0, got %s", tr.Step)
	}
	if len(tr.Points) == 0 {
		return errors.New("trace: no points")
	}
	for i, p := range tr.Points {
		if p.BusinessCPU < 0 || math.IsNaN(p.BusinessCPU) || math.IsInf(p.BusinessCPU, 0) {
			return fmt.Errorf("trace point %d: business cpu %v", i, p.BusinessCPU)
		}
		if i > 0 && !p.Time.After(tr.Points[i-1].Time) {
			return fmt.Errorf("trace point %d: time %s is not after the previous point", i, p.Time)
		}
	}
	return nil
}

// duration is how long point i lasts.
func (tr Trace) duration(i int) time.Duration {
	if i+1 < len(tr.Points) {
		return tr.Points[i+1].Time.Sub(tr.Points[i].Time)
	}
	return tr.Step
}
