package sampler

import (
	"errors"
	"io/fs"
	"sync"
	"time"

	"github.com/headroom-dev/headroom/internal/cgroup"
)

// LazyCgroup is a CgroupReader for a cgroup that may not exist yet. The
// monitor is observe-only and never creates the batch cgroup: until an
// agent creates it, or after it is removed, its usage reads as zero rather
// than as a sampling failure, which would degrade the estimate.
type LazyCgroup struct {
	h    *cgroup.Hierarchy
	path string

	mu sync.Mutex
	g  *cgroup.Group
}

// NewCgroupReader returns a reader of path in h.
func NewCgroupReader(h *cgroup.Hierarchy, path string) *LazyCgroup {
	return &LazyCgroup{h: h, path: path}
}

// group returns the loaded group, loading it when it appeared; nil while
// it does not exist.
func (l *LazyCgroup) group() (*cgroup.Group, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.g != nil {
		return l.g, nil
	}
	g, err := l.h.Load(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	l.g = g
	return g, nil
}

// gone forgets the group after a read error that says it was removed.
func (l *LazyCgroup) gone(err error) bool {
	if !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	l.mu.Lock()
	l.g = nil
	l.mu.Unlock()
	return true
}

// CPUUsage implements CgroupReader.
func (l *LazyCgroup) CPUUsage() (time.Duration, error) {
	g, err := l.group()
	if g == nil || err != nil {
		return 0, err
	}
	v, err := g.CPUUsage()
	if err != nil && l.gone(err) {
		return 0, nil
	}
	return v, err
}

// MemoryWorkingSet implements CgroupReader.
func (l *LazyCgroup) MemoryWorkingSet() (uint64, error) {
	g, err := l.group()
	if g == nil || err != nil {
		return 0, err
	}
	v, err := g.MemoryWorkingSet()
	if err != nil && l.gone(err) {
		return 0, nil
	}
	return v, err
}
