package monitor

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/headroom-dev/headroom/monitor/estimate"
)

// recordHeader is the recording format (docs/recording.md). Columns are only
// ever appended, so an old reader of a prefix keeps working.
var recordHeader = []string{
	"time", "kind", "online_cpus", "host_cpu_cores", "batch_cpu_cores", "self_cpu_cores", "business_cpu_cores",
	"mem_total_bytes", "mem_available_bytes", "batch_mem_bytes", "self_mem_bytes", "business_mem_bytes",
	"psi_cpu_some_avg10", "psi_cpu_full_avg10", "psi_memory_some_avg10", "psi_memory_full_avg10",
	"psi_io_some_avg10", "psi_io_full_avg10",
}

// RecordHeader returns the recording's header row.
func RecordHeader() []string { return append([]string(nil), recordHeader...) }

// Recorder appends samples to a CSV file, one flushed row per sample.
type Recorder struct {
	mu  sync.Mutex
	f   *os.File
	w   *csv.Writer
	row []string
}

// OpenRecorder opens path for appending, writing the header to a new or
// empty file. An existing file with another header is refused: mixing two
// formats in one file would make it unreadable.
func OpenRecorder(path string) (*Recorder, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("recording %s: %w", path, err)
	}
	r := &Recorder{f: f, w: csv.NewWriter(f), row: make([]string, len(recordHeader))}
	if st.Size() == 0 {
		if err := r.write(recordHeader); err != nil {
			f.Close()
			return nil, err
		}
		return r, nil
	}
	first, err := bufio.NewReader(io.NewSectionReader(f, 0, st.Size())).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, fmt.Errorf("recording %s: %w", path, err)
	}
	if got := strings.TrimRight(first, "\r\n"); got != strings.Join(recordHeader, ",") {
		f.Close()
		return nil, fmt.Errorf("recording %s: existing header %q is not this version's format; use a new file", path, got)
	}
	return r, nil
}

func (r *Recorder) write(row []string) error {
	if err := r.w.Write(row); err != nil {
		return fmt.Errorf("recording %s: %w", r.f.Name(), err)
	}
	r.w.Flush()
	if err := r.w.Error(); err != nil {
		return fmt.Errorf("recording %s: %w", r.f.Name(), err)
	}
	return nil
}

// Record appends one sample.
func (r *Recorder) Record(s estimate.Sample) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	kind := KindFull
	if s.Fast {
		kind = KindFast
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	row := r.row[:0]
	row = append(row, s.Time.UTC().Format(time.RFC3339Nano), kind,
		f(s.OnlineCPUs), f(s.HostCPU), f(s.BatchCPU), f(s.SelfCPU), f(s.BusinessCPU),
		u(s.MemTotal), u(s.MemAvailable), u(s.BatchMem), u(s.SelfMem), u(s.BusinessMem),
		f(s.PSI.CPU.SomeAvg10), f(s.PSI.CPU.FullAvg10), f(s.PSI.Memory.SomeAvg10), f(s.PSI.Memory.FullAvg10),
		f(s.PSI.IO.SomeAvg10), f(s.PSI.IO.FullAvg10))
	return r.write(row)
}

// Close closes the file.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("recording %s: %w", r.f.Name(), err)
	}
	return nil
}

// ReadRecording reads a recording back. Errors name the line and column.
func ReadRecording(rd io.Reader) ([]estimate.Sample, error) {
	cr := csv.NewReader(rd)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("recording header: %w", err)
	}
	if len(head) < len(recordHeader) || strings.Join(head[:len(recordHeader)], ",") != strings.Join(recordHeader, ",") {
		return nil, fmt.Errorf("recording header %q: want %q", strings.Join(head, ","), strings.Join(recordHeader, ","))
	}
	var out []estimate.Sample
	for line := 2; ; line++ {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("recording line %d: %w", line, err)
		}
		s, err := parseRecordRow(row)
		if err != nil {
			return nil, fmt.Errorf("recording line %d: %w", line, err)
		}
		out = append(out, s)
	}
}

func parseRecordRow(row []string) (estimate.Sample, error) {
	var s estimate.Sample
	t, err := time.Parse(time.RFC3339Nano, row[0])
	if err != nil {
		return s, fmt.Errorf("column time: %w", err)
	}
	s.Time = t
	switch row[1] {
	case KindFull:
	case KindFast:
		s.Fast = true
	default:
		return s, fmt.Errorf("column kind: %q is not full or fast", row[1])
	}
	var perr error
	fl := func(i int) float64 {
		v, err := strconv.ParseFloat(row[i], 64)
		if err == nil && (v < 0 || v != v) {
			err = errors.New("negative or NaN")
		}
		if err != nil && perr == nil {
			perr = fmt.Errorf("column %s: %q: %w", recordHeader[i], row[i], err)
		}
		return v
	}
	un := func(i int) uint64 {
		v, err := strconv.ParseUint(row[i], 10, 64)
		if err != nil && perr == nil {
			perr = fmt.Errorf("column %s: %q: %w", recordHeader[i], row[i], err)
		}
		return v
	}
	s.OnlineCPUs, s.HostCPU, s.BatchCPU, s.SelfCPU, s.BusinessCPU = fl(2), fl(3), fl(4), fl(5), fl(6)
	s.MemTotal, s.MemAvailable, s.BatchMem, s.SelfMem, s.BusinessMem = un(7), un(8), un(9), un(10), un(11)
	s.PSI.CPU.SomeAvg10, s.PSI.CPU.FullAvg10 = fl(12), fl(13)
	s.PSI.Memory.SomeAvg10, s.PSI.Memory.FullAvg10 = fl(14), fl(15)
	s.PSI.IO.SomeAvg10, s.PSI.IO.FullAvg10 = fl(16), fl(17)
	s.PSI.Present = !s.Fast
	return s, perr
}
