package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/containerd/cgroups/v3/cgroup2"
	"golang.org/x/sys/unix"
)

// v2Layout is a unified hierarchy rooted at Root.
type v2Layout struct {
	root string
	// pids tells whether the pids controller is available; on v2 it is
	// optional like on v1 (some minimal kernels build without it).
	pids bool
}

func openV2(root string) (*v2Layout, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		return nil, fmt.Errorf("cgroup v2 at %s: statfs: %w", root, err)
	}
	mounted := st.Type == unix.CGROUP2_SUPER_MAGIC
	b, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
	if err != nil {
		if mounted {
			return nil, fmt.Errorf("cgroup v2 at %s: %w", root, err)
		}
		// Not a cgroup2 mount and no fixture file: the common v1 case,
		// worth a plain message rather than an ENOENT.
		return nil, fmt.Errorf("cgroup v2 at %s: not a cgroup2 mount and no cgroup.controllers", root)
	}
	have := map[string]bool{}
	for _, c := range bytes.Fields(b) {
		have[string(c)] = true
	}
	var missing []string
	for _, c := range []string{"cpu", "memory"} {
		if !have[c] {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("cgroup v2 at %s: controllers %v missing from cgroup.controllers", root, missing)
	}
	return &v2Layout{root: root, pids: have["pids"]}, nil
}

func (l *v2Layout) dir(path string) string { return filepath.Join(l.root, path) }

func (l *v2Layout) resources() *cgroup2.Resources {
	// Empty (non-nil) controller structs make the library enable the
	// controllers in every ancestor's cgroup.subtree_control without
	// writing any limit; apply writes the limits.
	r := &cgroup2.Resources{CPU: &cgroup2.CPU{}, Memory: &cgroup2.Memory{}}
	if l.pids {
		r.Pids = &cgroup2.Pids{}
	}
	return r
}

func (l *v2Layout) create(path string) error {
	_, err := cgroup2.NewManager(l.root, "/"+path, l.resources())
	return err
}

func (l *v2Layout) load(path string) (*cgroup2.Manager, error) {
	if _, err := os.Stat(l.dir(path)); err != nil {
		return nil, err
	}
	return cgroup2.Load("/"+path, cgroup2.WithMountpoint(l.root))
}

func (l *v2Layout) apply(path string, r Resources) error {
	d := l.dir(path)
	if r.CPUShares != 0 {
		if err := writeValue(d, "cpu.weight", strconv.FormatUint(cpuWeight(r.CPUShares), 10)); err != nil {
			return err
		}
	}
	quota := "max"
	if r.CPUQuota > 0 {
		quota = strconv.FormatInt(r.quota().Microseconds(), 10)
	}
	if err := writeValue(d, "cpu.max", quota+" "+strconv.FormatInt(r.period().Microseconds(), 10)); err != nil {
		return err
	}
	limit := "max"
	if r.MemoryLimit > 0 {
		limit = strconv.FormatInt(r.MemoryLimit, 10)
	}
	if err := writeValue(d, "memory.max", limit); err != nil {
		return err
	}
	if !l.pids {
		if r.PidsLimit != 0 {
			return fmt.Errorf("PidsLimit %d: pids controller is not available in %s", r.PidsLimit, filepath.Join(l.root, "cgroup.controllers"))
		}
		return nil
	}
	pids := "max"
	if r.PidsLimit > 0 {
		pids = strconv.FormatInt(r.PidsLimit, 10)
	}
	return writeValue(d, "pids.max", pids)
}

func (l *v2Layout) addProc(path string, pid int) error {
	m, err := l.load(path)
	if err != nil {
		return err
	}
	return m.AddProc(uint64(pid))
}

func (l *v2Layout) procs(path string) ([]int, error) {
	m, err := l.load(path)
	if err != nil {
		return nil, err
	}
	ps, err := m.Procs(true)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = int(p)
	}
	return out, nil
}

func (l *v2Layout) delete(path string) error {
	paths, err := descendants(path, []string{l.root})
	if err != nil {
		return err
	}
	for _, p := range paths {
		m, err := cgroup2.Load("/"+p, cgroup2.WithMountpoint(l.root))
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if err := m.Delete(); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

func (l *v2Layout) stats(path string) (Stats, error) {
	var s Stats
	d := l.dir(path)
	b, err := readValue(d, "cpu.stat")
	if err != nil {
		return s, err
	}
	v, err := lookupKV(b, "usage_usec", "cpu.stat")
	if err != nil {
		return s, err
	}
	s.CPUUsage = durationUS(v)
	// The nr_* fields only appear once the cpu controller is enabled for
	// the group; a group without them has simply never been throttled.
	if s.CPUPeriods, err = optional(lookupKV(b, "nr_periods", "cpu.stat")); err != nil {
		return s, err
	}
	if s.CPUThrottledPeriods, err = optional(lookupKV(b, "nr_throttled", "cpu.stat")); err != nil {
		return s, err
	}
	if v, err = optional(lookupKV(b, "throttled_usec", "cpu.stat")); err != nil {
		return s, err
	}
	s.CPUThrottled = durationUS(v)

	if b, err = readValue(d, "memory.current"); err != nil {
		return s, err
	}
	if s.MemoryUsage, err = parseUint(b, "memory.current"); err != nil {
		return s, err
	}
	if b, err = readValue(d, "memory.stat"); err != nil {
		return s, err
	}
	if v, err = lookupKV(b, "inactive_file", "memory.stat"); err != nil {
		return s, err
	}
	s.MemoryWorkingSet = workingSet(s.MemoryUsage, v)
	if b, err = readValue(d, "memory.max"); err != nil {
		return s, err
	}
	if s.MemoryLimit, err = parseMax(b, "memory.max"); err != nil {
		return s, err
	}
	if b, err = readValue(d, "memory.events"); err != nil {
		return s, err
	}
	if s.OOMKills, err = optional(lookupKV(b, "oom_kill", "memory.events")); err != nil {
		return s, err
	}
	if l.pids {
		if b, err = readValue(d, "pids.current"); err != nil {
			return s, err
		}
		if s.Pids, err = parseUint(b, "pids.current"); err != nil {
			return s, err
		}
	}
	return s, nil
}

// optional turns a missing key into 0 while keeping malformed-file errors.
func optional(v uint64, err error) (uint64, error) {
	if errors.Is(err, errMissingKey) {
		return 0, nil
	}
	return v, err
}
