package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/containerd/cgroups/v3/cgroup1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// v1Unlimited is the smallest value we treat as "no limit" when reading
// v1 limit files: the kernel reports unlimited as PAGE_COUNTER_MAX pages
// (9223372036854771712 with 4 KiB pages), and no real host has 4 EiB.
const v1Unlimited = 1 << 62

// v1Layout records where each controller headroom uses is mounted. The
// directory names vary ("cpu" vs "cpu,cpuacct", with or without symlinks),
// so they are resolved once at Open rather than assumed.
type v1Layout struct {
	cpu, cpuacct, memory string
	pids                 string // "" when the pids controller is not mounted

	// ctrlDirs are the distinct controller mounts, each group exists once
	// in every one of them.
	ctrlDirs []string
	// hierarchy hands the same mounts to containerd's cgroup1 package.
	// Named controllers are used because they take the directory name as
	// is ("cpu,cpuacct" included) and only create and remove directories;
	// limits are written by apply so that their errors name the file.
	hierarchy cgroup1.Hierarchy
}

func openV1(root string) (*v1Layout, error) {
	var missing []string
	pick := func(what string, names ...string) string {
		for _, n := range names {
			if fi, err := os.Stat(filepath.Join(root, n)); err == nil && fi.IsDir() {
				return n
			}
		}
		if what != "" {
			missing = append(missing, what)
		}
		return ""
	}
	cpu := pick("cpu (cpu or cpu,cpuacct)", "cpu", "cpu,cpuacct", "cpuacct,cpu")
	cpuacct := pick("cpuacct (cpuacct or cpu,cpuacct)", "cpuacct", "cpu,cpuacct", "cpuacct,cpu")
	memory := pick("memory", "memory")
	pids := pick("", "pids")
	if len(missing) > 0 {
		return nil, fmt.Errorf("cgroup v1 at %s: missing controller directories %v", root, missing)
	}

	l := &v1Layout{
		cpu:     filepath.Join(root, cpu),
		cpuacct: filepath.Join(root, cpuacct),
		memory:  filepath.Join(root, memory),
	}
	names := []string{cpu, cpuacct, memory}
	if pids != "" {
		l.pids = filepath.Join(root, pids)
		names = append(names, pids)
	}
	// With cpu,cpuacct co-mounted, "cpu" and "cpuacct" are symlinks to
	// one mount; writing a pid or removing a group twice there is
	// harmless but wasteful, so keep one name per real directory.
	seen := map[string]bool{}
	var subs []cgroup1.Subsystem
	for _, n := range names {
		p := filepath.Join(root, n)
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return nil, fmt.Errorf("cgroup v1 at %s: %w", root, err)
		}
		if seen[real] {
			continue
		}
		seen[real] = true
		l.ctrlDirs = append(l.ctrlDirs, p)
		subs = append(subs, cgroup1.NewNamed(root, cgroup1.Name(n)))
	}
	l.hierarchy = func() ([]cgroup1.Subsystem, error) { return subs, nil }
	return l, nil
}

func (l *v1Layout) dirs(path string) []string {
	out := make([]string, len(l.ctrlDirs))
	for i, d := range l.ctrlDirs {
		out[i] = filepath.Join(d, path)
	}
	return out
}

// requiredDirs is every controller directory a usable group must have; a
// group missing from one would silently escape that controller's limits.
func (l *v1Layout) requiredDirs(path string) []string { return l.dirs(path) }

func (l *v1Layout) create(path string) error {
	_, err := cgroup1.New(cgroup1.StaticPath("/"+path), &specs.LinuxResources{}, cgroup1.WithHierarchy(l.hierarchy))
	return err
}

func (l *v1Layout) load(path string) (cgroup1.Cgroup, error) {
	for _, d := range l.requiredDirs(path) {
		if _, err := os.Stat(d); err != nil {
			return nil, err
		}
	}
	cg, err := cgroup1.Load(cgroup1.StaticPath("/"+path), cgroup1.WithHierarchy(l.hierarchy))
	if errors.Is(err, cgroup1.ErrCgroupDeleted) {
		return nil, fmt.Errorf("%w: %w", err, fs.ErrNotExist)
	}
	return cg, err
}

func (l *v1Layout) apply(path string, r Resources) error {
	cpu := filepath.Join(l.cpu, path)
	if r.CPUShares != 0 {
		if err := writeValue(cpu, "cpu.shares", strconv.FormatUint(r.CPUShares, 10)); err != nil {
			return err
		}
	}
	// The period goes first: the kernel validates the quota against the
	// period in force when the quota is written.
	if err := writeValue(cpu, "cpu.cfs_period_us", strconv.FormatInt(r.period().Microseconds(), 10)); err != nil {
		return err
	}
	quota := "-1"
	if r.CPUQuota > 0 {
		quota = strconv.FormatInt(r.quota().Microseconds(), 10)
	}
	if err := writeValue(cpu, "cpu.cfs_quota_us", quota); err != nil {
		return err
	}

	limit := "-1"
	if r.MemoryLimit > 0 {
		limit = strconv.FormatInt(r.MemoryLimit, 10)
	}
	if err := writeValue(filepath.Join(l.memory, path), "memory.limit_in_bytes", limit); err != nil {
		return err
	}

	if l.pids == "" {
		if r.PidsLimit != 0 {
			return fmt.Errorf("PidsLimit %d: pids controller is not mounted", r.PidsLimit)
		}
		return nil
	}
	pids := "max"
	if r.PidsLimit > 0 {
		pids = strconv.FormatInt(r.PidsLimit, 10)
	}
	return writeValue(filepath.Join(l.pids, path), "pids.max", pids)
}

func (l *v1Layout) addProc(path string, pid int) error {
	cg, err := l.load(path)
	if err != nil {
		return err
	}
	return cg.AddProc(uint64(pid))
}

// procs unions the controllers: a process moved by someone else into
// only one of them is still ours to account for and kill.
func (l *v1Layout) procs(path string) ([]int, error) {
	cg, err := l.load(path)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, s := range cg.Subsystems() {
		ps, err := cg.Processes(s.Name(), true)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			pids = append(pids, p.Pid)
		}
	}
	return pids, nil
}

func (l *v1Layout) delete(path string) error {
	paths, err := descendants(path, l.ctrlDirs)
	if err != nil {
		return err
	}
	for _, p := range paths {
		cg, err := cgroup1.Load(cgroup1.StaticPath("/"+p), cgroup1.WithHierarchy(l.hierarchy))
		if errors.Is(err, cgroup1.ErrCgroupDeleted) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if err := cg.Delete(); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

func (l *v1Layout) stats(path string) (Stats, error) {
	var s Stats
	rd := func(dir, file string) ([]byte, error) {
		b, err := readValue(filepath.Join(dir, path), file)
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	b, err := rd(l.cpuacct, "cpuacct.usage")
	if err != nil {
		return s, err
	}
	v, err := parseUint(b, "cpuacct.usage")
	if err != nil {
		return s, err
	}
	s.CPUUsage = durationNS(v)

	if b, err = rd(l.cpu, "cpu.stat"); err != nil {
		return s, err
	}
	if s.CPUPeriods, err = lookupKV(b, "nr_periods", "cpu.stat"); err != nil {
		return s, err
	}
	if s.CPUThrottledPeriods, err = lookupKV(b, "nr_throttled", "cpu.stat"); err != nil {
		return s, err
	}
	if v, err = lookupKV(b, "throttled_time", "cpu.stat"); err != nil {
		return s, err
	}
	s.CPUThrottled = durationNS(v)

	if b, err = rd(l.memory, "memory.usage_in_bytes"); err != nil {
		return s, err
	}
	if s.MemoryUsage, err = parseUint(b, "memory.usage_in_bytes"); err != nil {
		return s, err
	}
	if b, err = rd(l.memory, "memory.stat"); err != nil {
		return s, err
	}
	if v, err = lookupKV(b, "total_inactive_file", "memory.stat"); err != nil {
		return s, err
	}
	s.MemoryWorkingSet = workingSet(s.MemoryUsage, v)
	if b, err = rd(l.memory, "memory.limit_in_bytes"); err != nil {
		return s, err
	}
	if v, err = parseUint(b, "memory.limit_in_bytes"); err != nil {
		return s, err
	}
	if v < v1Unlimited {
		s.MemoryLimit = v
	}
	// oom_kill appeared in memory.oom_control in Linux 4.13.
	if b, err = rd(l.memory, "memory.oom_control"); err != nil {
		return s, err
	}
	if s.OOMKills, err = optional(lookupKV(b, "oom_kill", "memory.oom_control")); err != nil {
		return s, err
	}

	if l.pids != "" {
		if b, err = rd(l.pids, "pids.current"); err != nil {
			return s, err
		}
		if s.Pids, err = parseUint(b, "pids.current"); err != nil {
			return s, err
		}
	}
	return s, nil
}
