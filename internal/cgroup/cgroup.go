package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Mode is the cgroup hierarchy layout a Hierarchy drives.
type Mode int

const (
	// ModeAuto detects the layout from Config.Root.
	ModeAuto Mode = iota
	// ModeV1 is the legacy layout: one mount per controller under Root.
	ModeV1
	// ModeV2 is the unified layout: Root itself is the cgroup2 mount.
	ModeV2
)

// String returns "auto", "v1" or "v2".
func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeV1:
		return "v1"
	case ModeV2:
		return "v2"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// DefaultRoot is where distributions mount the cgroup filesystems.
const DefaultRoot = "/sys/fs/cgroup"

// DefaultCPUPeriod is the kernel's default CFS period; used when
// Resources.CPUPeriod is zero.
const DefaultCPUPeriod = 100 * time.Millisecond

// Kernel bounds of the CFS bandwidth controller (kernel/sched/core.c): the
// period must lie in [1ms, 1s] and the quota must be at least 1ms. Checking
// them here turns an opaque EINVAL from a write into an error that names
// the field.
const (
	minCFSPeriod = time.Millisecond
	maxCFSPeriod = time.Second
	minCFSQuota  = time.Millisecond
)

// v1 cpu.shares bounds (kernel MIN_SHARES/MAX_SHARES).
const (
	minShares = 2
	maxShares = 262144
)

// killTimeout bounds how long Kill waits for a group to empty; a process
// that survives SIGKILL this long is stuck in the kernel (D state) and the
// caller must learn about it rather than hang.
const killTimeout = 5 * time.Second

// Config selects the cgroup filesystem to drive.
type Config struct {
	// Root is the cgroup filesystem root; "" means DefaultRoot.
	Root string
	// Mode picks the layout; ModeAuto detects it (see Open).
	Mode Mode
}

// Hierarchy is an opened cgroup filesystem. It holds no mutable state, so
// it is safe for concurrent use.
type Hierarchy struct {
	root string
	mode Mode
	v1   *v1Layout // nil in ModeV2
	v2   *v2Layout // nil in ModeV1
}

// Open inspects cfg.Root and returns a Hierarchy for it.
//
// ModeAuto picks v2 when Root is a cgroup2 filesystem whose
// cgroup.controllers lists cpu and memory, else v1 when Root/cpu (or
// Root/cpu,cpuacct) and Root/memory exist, else it fails naming Root and
// what is missing. A directory that is not a cgroup2 mount but holds a
// cgroup.controllers file is treated like one: only fixture trees look like
// that, and it lets tests exercise detection without mounting anything.
func Open(cfg Config) (*Hierarchy, error) {
	root := cfg.Root
	if root == "" {
		root = DefaultRoot
	}
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("cgroup: root %q is not an absolute path", root)
	}
	root = filepath.Clean(root)
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("cgroup: root %s: %w", root, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("cgroup: root %s is not a directory", root)
	}

	h := &Hierarchy{root: root}
	switch cfg.Mode {
	case ModeV1:
		l, err := openV1(root)
		if err != nil {
			return nil, err
		}
		h.mode, h.v1 = ModeV1, l
	case ModeV2:
		l, err := openV2(root)
		if err != nil {
			return nil, err
		}
		h.mode, h.v2 = ModeV2, l
	case ModeAuto:
		l2, err2 := openV2(root)
		if err2 == nil {
			h.mode, h.v2 = ModeV2, l2
			break
		}
		l1, err1 := openV1(root)
		if err1 == nil {
			h.mode, h.v1 = ModeV1, l1
			break
		}
		return nil, fmt.Errorf("cgroup: cannot detect cgroup layout at %s: not v2 (%v); not v1 (%v)", root, err2, err1)
	default:
		return nil, fmt.Errorf("cgroup: unknown mode %d", int(cfg.Mode))
	}
	return h, nil
}

// Mode returns the detected or configured layout (never ModeAuto).
func (h *Hierarchy) Mode() Mode { return h.mode }

// Root returns the cleaned cgroup filesystem root.
func (h *Hierarchy) Root() string { return h.root }

// Create creates the group at path (and its parents) if missing, or loads
// it, then applies r. It is idempotent.
func (h *Hierarchy) Create(path string, r Resources) (*Group, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("cgroup: create %q: %w", path, err)
	}
	var err error
	if h.mode == ModeV1 {
		err = h.v1.create(path)
	} else {
		err = h.v2.create(path)
	}
	if err != nil {
		return nil, fmt.Errorf("cgroup: create %q: %w", path, err)
	}
	g := h.newGroup(path)
	if err := g.apply(r); err != nil {
		return nil, fmt.Errorf("cgroup: create %q: %w", path, err)
	}
	return g, nil
}

// Load opens an existing group; the error wraps fs.ErrNotExist when the
// group is missing.
func (h *Hierarchy) Load(path string) (*Group, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	var dirs []string
	if h.mode == ModeV1 {
		dirs = h.v1.requiredDirs(path)
	} else {
		dirs = []string{h.v2.dir(path)}
	}
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil {
			return nil, fmt.Errorf("cgroup: load %q: %w", path, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("cgroup: load %q: %s is not a directory: %w", path, d, fs.ErrNotExist)
		}
	}
	return h.newGroup(path), nil
}

// Children lists the names of the direct child groups of path, sorted.
// An empty path lists the top-level groups under Root.
func (h *Hierarchy) Children(path string) ([]string, error) {
	if path != "" {
		if err := checkPath(path); err != nil {
			return nil, err
		}
	}
	var dirs []string
	if h.mode == ModeV1 {
		dirs = h.v1.dirs(path)
	} else {
		dirs = []string{h.v2.dir(path)}
	}
	seen := map[string]bool{}
	found := false
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cgroup: children of %q: %w", path, err)
		}
		found = true
		for _, e := range ents {
			if e.IsDir() {
				seen[e.Name()] = true
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("cgroup: children of %q: %w", path, fs.ErrNotExist)
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// checkPath rejects paths that could escape Root or address Root itself;
// batch work must never be written into the host's top-level group.
func checkPath(path string) error {
	if path == "" {
		return errors.New("cgroup: empty group path")
	}
	if strings.HasPrefix(path, "/") {
		return fmt.Errorf("cgroup: group path %q must be relative to the cgroup root", path)
	}
	for _, el := range strings.Split(path, "/") {
		switch el {
		case "..":
			return fmt.Errorf("cgroup: group path %q must not contain \"..\"", path)
		case "", ".":
			return fmt.Errorf("cgroup: group path %q is not clean", path)
		}
	}
	return nil
}

// Resources are the limits headroom puts on a group. Zero values mean
// "unlimited" for limits and "leave unchanged" for CPUShares.
type Resources struct {
	// CPUShares is the v1 cpu.shares weight (2..262144); on v2 it is
	// mapped to cpu.weight. 0 leaves the current weight unchanged.
	CPUShares uint64
	// CPUQuota is a hard CFS limit in cores; 0 is unlimited.
	CPUQuota float64
	// CPUPeriod is the CFS period; 0 means DefaultCPUPeriod.
	CPUPeriod time.Duration
	// MemoryLimit is the hard memory limit in bytes; 0 is unlimited.
	MemoryLimit int64
	// PidsLimit caps the number of tasks; 0 is unlimited.
	PidsLimit int64
}

// Validate rejects values the kernel would refuse, naming the field.
func (r Resources) Validate() error {
	if r.CPUShares != 0 && (r.CPUShares < minShares || r.CPUShares > maxShares) {
		return fmt.Errorf("CPUShares %d out of range [%d, %d]", r.CPUShares, minShares, maxShares)
	}
	if r.CPUQuota < 0 || math.IsNaN(r.CPUQuota) || math.IsInf(r.CPUQuota, 0) {
		return fmt.Errorf("CPUQuota %v must be a finite number >= 0", r.CPUQuota)
	}
	if r.CPUPeriod < 0 {
		return fmt.Errorf("CPUPeriod %v must not be negative", r.CPUPeriod)
	}
	if r.CPUPeriod != 0 && (r.CPUPeriod < minCFSPeriod || r.CPUPeriod > maxCFSPeriod) {
		return fmt.Errorf("CPUPeriod %v out of range [%v, %v]", r.CPUPeriod, minCFSPeriod, maxCFSPeriod)
	}
	if r.CPUQuota > 0 {
		if q := r.quota(); q < minCFSQuota {
			return fmt.Errorf("CPUQuota %v cores gives %v per %v period, below the kernel minimum %v", r.CPUQuota, q, r.period(), minCFSQuota)
		}
	}
	if r.MemoryLimit < 0 {
		return fmt.Errorf("MemoryLimit %d must not be negative", r.MemoryLimit)
	}
	if r.PidsLimit < 0 {
		return fmt.Errorf("PidsLimit %d must not be negative", r.PidsLimit)
	}
	return nil
}

func (r Resources) period() time.Duration {
	if r.CPUPeriod == 0 {
		return DefaultCPUPeriod
	}
	return r.CPUPeriod
}

// quota is the CFS runtime per period; only meaningful when CPUQuota > 0.
func (r Resources) quota() time.Duration {
	return time.Duration(math.Round(r.CPUQuota * float64(r.period())))
}

// cpuWeight maps v1 shares to v2 weight with the linear conversion used by
// runc and Kubernetes, so both layouts give the same relative split.
func cpuWeight(shares uint64) uint64 {
	if shares == 0 {
		return 0
	}
	shares = min(max(shares, minShares), maxShares)
	return 1 + ((shares-2)*9999)/262142
}

// Stats is a snapshot of a group's accounting.
type Stats struct {
	CPUUsage            time.Duration // cumulative
	CPUThrottled        time.Duration
	CPUPeriods          uint64
	CPUThrottledPeriods uint64
	MemoryUsage         uint64
	MemoryWorkingSet    uint64 // usage minus inactive file cache, never below 0
	MemoryLimit         uint64 // 0 when unlimited
	OOMKills            uint64
	Pids                uint64
}

// Group is one cgroup, present in every controller the Hierarchy drives.
// The hot-path file names are resolved once here so CPUUsage and
// MemoryWorkingSet neither build strings nor allocate.
type Group struct {
	h    *Hierarchy
	path string

	cpuUsageFile []byte // NUL-terminated: v1 cpuacct.usage, v2 cpu.stat
	memUsageFile []byte // NUL-terminated: v1 memory.usage_in_bytes, v2 memory.current
	memStatFile  []byte // NUL-terminated memory.stat
}

func (h *Hierarchy) newGroup(path string) *Group {
	g := &Group{h: h, path: path}
	if h.mode == ModeV1 {
		g.cpuUsageFile = cstr(filepath.Join(h.v1.cpuacct, path, "cpuacct.usage"))
		g.memUsageFile = cstr(filepath.Join(h.v1.memory, path, "memory.usage_in_bytes"))
		g.memStatFile = cstr(filepath.Join(h.v1.memory, path, "memory.stat"))
	} else {
		d := h.v2.dir(path)
		g.cpuUsageFile = cstr(filepath.Join(d, "cpu.stat"))
		g.memUsageFile = cstr(filepath.Join(d, "memory.current"))
		g.memStatFile = cstr(filepath.Join(d, "memory.stat"))
	}
	return g
}

// Path returns the group path relative to the Hierarchy root, as given.
func (g *Group) Path() string { return g.path }

// Update applies r to the group.
func (g *Group) Update(r Resources) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("cgroup: update %q: %w", g.path, err)
	}
	if err := g.apply(r); err != nil {
		return fmt.Errorf("cgroup: update %q: %w", g.path, err)
	}
	return nil
}

func (g *Group) apply(r Resources) error {
	if g.h.mode == ModeV1 {
		return g.h.v1.apply(g.path, r)
	}
	return g.h.v2.apply(g.path, r)
}

// AddProc moves pid into the group in every controller.
func (g *Group) AddProc(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("cgroup: add pid %d to %q: invalid pid", pid, g.path)
	}
	var err error
	if g.h.mode == ModeV1 {
		err = g.h.v1.addProc(g.path, pid)
	} else {
		err = g.h.v2.addProc(g.path, pid)
	}
	if err != nil {
		return fmt.Errorf("cgroup: add pid %d to %q: %w", pid, g.path, err)
	}
	return nil
}

// Procs returns the pids in the group and its descendants, sorted.
func (g *Group) Procs() ([]int, error) {
	var (
		pids []int
		err  error
	)
	if g.h.mode == ModeV1 {
		pids, err = g.h.v1.procs(g.path)
	} else {
		pids, err = g.h.v2.procs(g.path)
	}
	if err != nil {
		return nil, fmt.Errorf("cgroup: procs of %q: %w", g.path, err)
	}
	sort.Ints(pids)
	return dedupSorted(pids), nil
}

// CPUUsage returns the cumulative CPU time of the group. It is called
// every 200 ms per group, so it reads a single file with raw syscalls into
// a stack buffer and does not allocate on success.
func (g *Group) CPUUsage() (time.Duration, error) {
	var buf [512]byte
	n, err := readSmall(g.cpuUsageFile, buf[:])
	if err != nil {
		return 0, g.fileErr(g.cpuUsageFile, err)
	}
	if g.h.mode == ModeV1 {
		v, err := parseUint(buf[:n], "cpuacct.usage")
		if err != nil {
			return 0, g.fileErr(g.cpuUsageFile, err)
		}
		return time.Duration(v), nil
	}
	v, err := lookupKV(buf[:n], "usage_usec", "cpu.stat")
	if err != nil {
		return 0, g.fileErr(g.cpuUsageFile, err)
	}
	return time.Duration(v) * time.Microsecond, nil
}

// MemoryWorkingSet returns usage minus inactive file cache, the figure
// the kernel would not reclaim easily and the one OOM decisions track.
func (g *Group) MemoryWorkingSet() (uint64, error) {
	var buf [512]byte
	n, err := readSmall(g.memUsageFile, buf[:])
	if err != nil {
		return 0, g.fileErr(g.memUsageFile, err)
	}
	usageName, inactiveKey := "memory.current", "inactive_file"
	if g.h.mode == ModeV1 {
		usageName, inactiveKey = "memory.usage_in_bytes", "total_inactive_file"
	}
	usage, err := parseUint(buf[:n], usageName)
	if err != nil {
		return 0, g.fileErr(g.memUsageFile, err)
	}
	var stat [statBufSize]byte
	sb := stat[:]
	n, err = readSmall(g.memStatFile, sb)
	if errors.Is(err, errBufferFull) {
		// A future kernel grew memory.stat past the buffer: stay correct
		// and pay for an allocation.
		sb, err = os.ReadFile(gostr(g.memStatFile))
		n = len(sb)
	}
	if err != nil {
		return 0, g.fileErr(g.memStatFile, err)
	}
	inactive, err := lookupKV(sb[:n], inactiveKey, "memory.stat")
	if err != nil {
		return 0, g.fileErr(g.memStatFile, err)
	}
	return workingSet(usage, inactive), nil
}

// statBufSize holds any memory.stat seen in practice (about 1.5 KiB on v1,
// 2 KiB on recent v2 kernels) with room for growth.
const statBufSize = 8192

func workingSet(usage, inactive uint64) uint64 {
	if inactive >= usage {
		return 0
	}
	return usage - inactive
}

func (g *Group) fileErr(cpath []byte, err error) error {
	return fmt.Errorf("cgroup %q: %s: %w", g.path, gostr(cpath), err)
}

// Stats reads the full accounting snapshot; it is not on the hot path.
func (g *Group) Stats() (Stats, error) {
	var (
		s   Stats
		err error
	)
	if g.h.mode == ModeV1 {
		s, err = g.h.v1.stats(g.path)
	} else {
		s, err = g.h.v2.stats(g.path)
	}
	if err != nil {
		return Stats{}, fmt.Errorf("cgroup: stats of %q: %w", g.path, err)
	}
	return s, nil
}

// Kill sends SIGKILL to every process in the group and its descendants
// and waits (bounded) until the group is empty.
func (g *Group) Kill() error {
	if g.h.mode == ModeV2 {
		// cgroup.kill (5.14+) kills the whole subtree atomically, so
		// forking processes cannot outrun us.
		err := os.WriteFile(filepath.Join(g.h.v2.dir(g.path), "cgroup.kill"), []byte("1"), 0)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cgroup: kill %q: %w", g.path, err)
		}
	}
	deadline := time.Now().Add(killTimeout)
	delay := 5 * time.Millisecond
	for {
		pids, err := g.Procs()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cgroup: kill %q: %w", g.path, err)
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup: kill %q: %d processes still present after %v (first %d)", g.path, len(pids), killTimeout, pids[0])
		}
		for _, pid := range pids {
			// ESRCH just means it exited between listing and signalling.
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("cgroup: kill %q: pid %d: %w", g.path, pid, err)
			}
		}
		time.Sleep(delay)
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// Delete removes the group's descendants, deepest first, then the group
// itself, in every controller. A missing group is not an error. Groups that
// still hold processes cannot be removed; call Kill first.
func (g *Group) Delete() error {
	var err error
	if g.h.mode == ModeV1 {
		err = g.h.v1.delete(g.path)
	} else {
		err = g.h.v2.delete(g.path)
	}
	if err != nil {
		return fmt.Errorf("cgroup: delete %q: %w", g.path, err)
	}
	return nil
}

// descendants returns the relative paths of path and every group below it
// found under the given controller directories, deepest first, so they can
// be removed in order (rmdir only works on leaf cgroups).
func descendants(path string, ctrlDirs []string) ([]string, error) {
	seen := map[string]bool{}
	for _, base := range ctrlDirs {
		top := filepath.Join(base, path)
		err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if !d.IsDir() {
				return nil
			}
			rel, err := filepath.Rel(base, p)
			if err != nil {
				return err
			}
			seen[rel] = true
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		di, dj := strings.Count(out[i], "/"), strings.Count(out[j], "/")
		if di != dj {
			return di > dj
		}
		return out[i] < out[j]
	})
	return out, nil
}

func dedupSorted(s []int) []int {
	if len(s) < 2 {
		return s
	}
	out := s[:1]
	for _, v := range s[1:] {
		if v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}

// writeValue writes one control file; the error names the file and value
// because the kernel's EINVAL/EBUSY alone says nothing useful.
func writeValue(dir, file, value string) error {
	p := filepath.Join(dir, file)
	if err := os.WriteFile(p, []byte(value), 0o644); err != nil {
		return fmt.Errorf("write %q to %s: %w", value, p, err)
	}
	return nil
}

// readValue reads a control file whole, for the non-hot paths.
func readValue(dir, file string) ([]byte, error) {
	p := filepath.Join(dir, file)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return b, nil
}
