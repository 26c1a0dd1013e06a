package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// FileName is the lock file inside the locked directory.
const FileName = "lock"

// Lock is a held directory lock.
type Lock struct {
	f *os.File
}

// InUseError says another process holds the lock.
type InUseError struct {
	Dir  string
	What string // "master", "agent"
	Kind string // "data dir", "work dir"
	// PID is the holder's, 0 when the lock file does not say.
	PID int
}

func (e *InUseError) Error() string {
	holder := "another headroom " + e.What
	if e.PID > 0 {
		holder += " (pid " + strconv.Itoa(e.PID) + ")"
	}
	return fmt.Sprintf("%s %s is in use by %s", e.Kind, e.Dir, holder)
}

// Acquire locks dir (which must exist) without waiting. kind and what name
// the directory and its user in errors: Acquire(dir, "data dir", "master").
func Acquire(dir, kind, what string) (*Lock, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", kind, dir, err)
	}
	path := filepath.Join(abs, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s %s: lock file: %w", kind, abs, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			b, _ := os.ReadFile(path)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			return nil, &InUseError{Dir: abs, What: what, Kind: kind, PID: pid}
		}
		return nil, fmt.Errorf("%s %s: locking %s: %w", kind, abs, path, err)
	}
	// The pid is written only under the lock, so it is always the holder's.
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s %s: lock file: %w", kind, abs, err)
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s %s: lock file: %w", kind, abs, err)
	}
	return &Lock{f: f}, nil
}

// Release drops the lock. The file stays: removing it would let a process
// that opened it before the removal lock a file no one else sees.
func (l *Lock) Release() error {
	return l.f.Close()
}
