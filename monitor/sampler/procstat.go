package sampler

import (
	"bytes"
	"errors"
	"fmt"
	"os"
)

// cpuTimes is the aggregate "cpu" line of /proc/stat reduced to what the
// sampler needs, in USER_HZ ticks.
type cpuTimes struct {
	// Busy is everything but idle and iowait: user, nice, system, irq,
	// softirq and steal. Guest time is already counted in user (and
	// guest_nice in nice), so the guest columns are not added again.
	Busy uint64
	// Total is Busy + idle + iowait.
	Total uint64
}

// procStat is what parseProcStatCPU extracts from /proc/stat.
type procStat struct {
	CPU cpuTimes
	// Online is the number of "cpuN" lines: the kernel prints one per
	// online CPU only.
	Online int
}

var (
	errNoCPULine  = errors.New("no aggregate cpu line")
	errNoCPUNLine = errors.New("no per-cpu (cpuN) line")
)

// parseProcStatCPU parses the cpu lines at the start of /proc/stat.
//
// It stops at the first line after the cpu block, so the long intr line is
// never looked at, and it does not allocate. The aggregate line needs at
// least the four columns every kernel prints (user nice system idle); the
// later columns (iowait, irq, softirq, steal) count as zero when an old
// kernel leaves them out. A truncated line (one that ends inside the block
// without a number) or a malformed number is an error.
func parseProcStatCPU(b []byte) (procStat, error) {
	var st procStat
	sawAgg := false
	for len(b) > 0 {
		// IndexByte is vectorised: the per-cpu lines, which are only
		// counted, are skipped at memory speed.
		line := b
		b = nil
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line, b = line[:i], line[i+1:]
		}
		if len(line) < 3 || line[0] != 'c' || line[1] != 'p' || line[2] != 'u' {
			if sawAgg || st.Online > 0 {
				// The cpu block is over; what follows (intr, ctxt, ...)
				// is of no interest.
				break
			}
			if len(line) == 0 {
				continue
			}
			// Anything before the cpu block is unexpected: /proc/stat
			// starts with the aggregate cpu line.
			return procStat{}, fmt.Errorf("unexpected line before cpu lines: %q", truncForErr(line))
		}
		if len(line) > 3 && line[3] >= '0' && line[3] <= '9' {
			// cpuN: only counted. Check the rest of the name is numeric
			// so that a mangled line is not silently counted.
			i := 3
			for i < len(line) && line[i] >= '0' && line[i] <= '9' {
				i++
			}
			if i == len(line) || line[i] != ' ' {
				return procStat{}, fmt.Errorf("malformed per-cpu line: %q", truncForErr(line))
			}
			st.Online++
			continue
		}
		if len(line) == 3 || line[3] != ' ' {
			return procStat{}, fmt.Errorf("malformed cpu line: %q", truncForErr(line))
		}
		if sawAgg {
			return procStat{}, errors.New("duplicate aggregate cpu line")
		}
		sawAgg = true
		t, err := parseCPUColumns(line[3:])
		if err != nil {
			return procStat{}, err
		}
		st.CPU = t
	}
	if !sawAgg {
		return procStat{}, errNoCPULine
	}
	if st.Online == 0 {
		return procStat{}, errNoCPUNLine
	}
	return st, nil
}

// parseCPUColumns parses the numbers after "cpu" on the aggregate line.
func parseCPUColumns(b []byte) (cpuTimes, error) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	var col [8]uint64
	n := 0
	for {
		for len(b) > 0 && b[0] == ' ' {
			b = b[1:]
		}
		if len(b) == 0 {
			break
		}
		v, rest, err := parseUint(b)
		if err != nil {
			return cpuTimes{}, fmt.Errorf("cpu line column %d: %w", n+1, err)
		}
		b = rest
		if len(b) > 0 && b[0] != ' ' {
			return cpuTimes{}, fmt.Errorf("cpu line column %d: unexpected byte %q", n+1, b[0])
		}
		if n < len(col) {
			col[n] = v
		}
		n++
	}
	if n < 4 {
		return cpuTimes{}, fmt.Errorf("cpu line has %d columns, want at least 4 (truncated?)", n)
	}
	user, nice, system, idle := col[0], col[1], col[2], col[3]
	iowait, irq, softirq, steal := col[4], col[5], col[6], col[7]
	busy := user + nice + system + irq + softirq + steal
	return cpuTimes{Busy: busy, Total: busy + idle + iowait}, nil
}

var (
	errNotNumber = errors.New("not a number")
	errOverflow  = errors.New("number overflows uint64")
)

// parseUint parses the decimal digits at the start of b and returns the
// rest. It does not allocate, unlike strconv on a string(b) conversion.
func parseUint(b []byte) (uint64, []byte, error) {
	if len(b) == 0 || b[0] < '0' || b[0] > '9' {
		return 0, b, errNotNumber
	}
	var v uint64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d := uint64(b[i] - '0')
		if v > (^uint64(0)-d)/10 {
			return 0, b, errOverflow
		}
		v = v*10 + d
	}
	return v, b[i:], nil
}

// truncForErr keeps error messages short when a line is garbage.
func truncForErr(b []byte) []byte {
	const max = 64
	if len(b) > max {
		return b[:max]
	}
	return b
}

// fileReader reads a small file, again and again, into a buffer it reuses.
//
// It keeps the file open and reads it with a single pread at offset 0:
// procfs regenerates the content on every read from the start, so this
// costs one syscall per call and no allocation once the buffer has grown to
// fit. A read that does not fill the buffer is taken as the whole file
// (procfs returns a single_open file such as stat or meminfo in one read
// when it fits). Files rewritten in place (os.WriteFile, as the tests do)
// are seen too; a file replaced by rename is not, which never happens under
// /proc.
type fileReader struct {
	path string
	f    *os.File
	buf  []byte
}

func newFileReader(path string, size int) *fileReader {
	return &fileReader{path: path, buf: make([]byte, size)}
}

// read returns the whole file. The slice is valid until the next call.
func (r *fileReader) read() ([]byte, error) {
	if r.f == nil {
		f, err := os.Open(r.path)
		if err != nil {
			return nil, err
		}
		r.f = f
	}
	for {
		n, err := preadOnce(r.f, r.buf)
		if err != nil {
			// Drop the descriptor so the next call starts afresh.
			r.f.Close()
			r.f = nil
			return nil, err
		}
		if n < len(r.buf) {
			return r.buf[:n], nil
		}
		// The buffer may be too small: grow and read again, so a large
		// host costs one allocation at the first read only.
		if len(r.buf) >= maxReadSize {
			return nil, fmt.Errorf("larger than %d bytes", maxReadSize)
		}
		r.buf = make([]byte, 2*len(r.buf))
	}
}

// close releases the descriptor; the reader can still be used afterwards.
func (r *fileReader) close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// maxReadSize bounds the buffer growth so a bogus file (a fixture pointing
// at something endless) cannot eat the host's memory.
const maxReadSize = 16 << 20

// readProcStatCPU reads and parses /proc/stat through r.
func readProcStatCPU(r *fileReader) (procStat, error) {
	b, err := r.read()
	if err != nil {
		return procStat{}, fmt.Errorf("read %s: %w", r.path, err)
	}
	st, err := parseProcStatCPU(b)
	if err != nil {
		return procStat{}, fmt.Errorf("parse %s: %w", r.path, err)
	}
	return st, nil
}
