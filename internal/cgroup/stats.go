package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The parsers below are pure functions over file contents so they can be
// tested on fixtures and reused by the zero-allocation hot path. They take
// the file's base name only to put it in errors; on success they do not
// allocate.

// errMissingKey marks a key-value file that lacks the requested field;
// callers treat it as fatal for required fields and skip optional ones
// (e.g. oom_kill on old kernels).
var errMissingKey = errors.New("field missing")

// errBufferFull reports that a control file did not fit the caller's
// buffer, so what was read may be truncated.
var errBufferFull = errors.New("file larger than read buffer")

// parseUint parses a single-value control file such as cpuacct.usage or
// memory.current: decimal digits followed by an optional newline.
func parseUint(b []byte, file string) (uint64, error) {
	b = trimSpace(b)
	if len(b) == 0 {
		return 0, fmt.Errorf("%s: empty value", file)
	}
	v, ok := atou(b)
	if !ok {
		return 0, fmt.Errorf("%s: malformed value %q", file, string(b))
	}
	return v, nil
}

// parseMax parses a v2 limit file (memory.max, pids.max) where "max" means
// unlimited; it returns 0 for unlimited.
func parseMax(b []byte, file string) (uint64, error) {
	if string(trimSpace(b)) == "max" {
		return 0, nil
	}
	return parseUint(b, file)
}

// lookupKV finds key in a flat-keyed file ("key value" per line: cpu.stat,
// memory.stat, memory.events, memory.oom_control) and returns its value.
// It scans lines in place instead of building a map because the hot path
// wants one field out of ~40. Every line up to the key must be well formed;
// a line cut short or carrying a non-number is reported with its number.
func lookupKV(b []byte, key, file string) (uint64, error) {
	line := 0
	for len(b) > 0 {
		line++
		var l []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			l, b = b[:i], b[i+1:]
		} else {
			l, b = b, nil
		}
		if len(l) == 0 {
			continue
		}
		sp := bytes.IndexByte(l, ' ')
		if sp <= 0 {
			if string(l) == key {
				return 0, fmt.Errorf("%s: field %s has no value", file, key)
			}
			return 0, fmt.Errorf("%s: line %d: malformed %q", file, line, string(l))
		}
		k, v := l[:sp], l[sp+1:]
		n, ok := atou(v)
		if string(k) == key {
			if !ok {
				return 0, fmt.Errorf("%s: field %s: malformed value %q", file, key, string(v))
			}
			return n, nil
		}
		if !ok {
			return 0, fmt.Errorf("%s: line %d: field %s: malformed value %q", file, line, string(k), string(v))
		}
	}
	return 0, fmt.Errorf("%s: field %s: %w", file, key, errMissingKey)
}

// atou parses a non-empty run of decimal digits without allocating,
// rejecting overflow.
func atou(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// cstr returns s as a NUL-terminated byte slice for raw syscalls, built
// once per Group so the hot path need not convert strings.
func cstr(s string) []byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return b
}

// gostr undoes cstr, for error messages only.
func gostr(b []byte) string {
	if n := len(b); n > 0 && b[n-1] == 0 {
		b = b[:n-1]
	}
	return string(b)
}

// readSmall reads the whole file named by the NUL-terminated path into buf
// using open/read/close directly: os.Open would allocate an *os.File and
// register it with the poller, which is waste for a 20-byte cgroup file
// read five times a second per group. It returns errBufferFull when the
// file does not fit, since a partial read of a seq_file would be a
// truncated, misleading value.
func readSmall(path []byte, buf []byte) (int, error) {
	if len(path) == 0 || path[len(path)-1] != 0 {
		return 0, errors.New("internal error: path not NUL-terminated")
	}
	var (
		fd    uintptr
		errno syscall.Errno
	)
	for {
		fd, _, errno = syscall.Syscall6(syscall.SYS_OPENAT, atFDCWD(), uintptr(unsafe.Pointer(&path[0])),
			syscall.O_RDONLY|syscall.O_CLOEXEC, 0, 0, 0)
		if errno != syscall.EINTR {
			break
		}
	}
	if errno != 0 {
		return 0, errno
	}
	defer syscall.Close(int(fd))
	n := 0
	for n < len(buf) {
		m, err := syscall.Read(int(fd), buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if m == 0 {
			return n, nil
		}
		n += m
	}
	// The buffer is full: only a zero-length read proves we saw it all.
	var probe [1]byte
	for {
		m, err := syscall.Read(int(fd), probe[:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if m != 0 {
			return 0, errBufferFull
		}
		return n, nil
	}
}

func atFDCWD() uintptr {
	fd := unix.AT_FDCWD
	return uintptr(fd)
}

// durationNS converts a kernel nanosecond counter, saturating rather than
// wrapping negative on absurd values.
func durationNS(v uint64) time.Duration {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(v)
}

// durationUS converts a kernel microsecond counter, saturating.
func durationUS(v uint64) time.Duration {
	if v > math.MaxInt64/uint64(time.Microsecond) {
		return math.MaxInt64
	}
	return time.Duration(v) * time.Microsecond
}
