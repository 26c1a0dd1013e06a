package sampler

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/procfs"

	"github.com/headroom-dev/headroom/monitor"
	"github.com/headroom-dev/headroom/monitor/estimate"
)

// ErrWarmingUp is returned by the first Sample and the first SampleFast of a
// sampler: a rate needs two readings, and the first one is only recorded.
// It is also returned (wrapped) when now does not move forward between two
// calls of the same kind: the sampler then starts over from the new reading.
// It is the monitor's own sentinel, so the run loop does not count it as a
// failure.
var ErrWarmingUp = monitor.ErrWarmingUp

// userHZ is the unit of the tick counters in /proc/stat and /proc/PID/stat.
// The kernel exports them in USER_HZ, which is 100 on every architecture
// Linux supports, whatever the internal HZ.
const userHZ = 100

// CgroupReader reads one cgroup's counters. It is implemented elsewhere
// (*cgroup.Group). CPUUsage is called on every fast tick, so it must be
// cheap.
type CgroupReader interface {
	// CPUUsage is the cumulative CPU time used by the cgroup.
	CPUUsage() (time.Duration, error)
	// MemoryWorkingSet is the cgroup's working set in bytes.
	MemoryWorkingSet() (uint64, error)
}

// ServiceSpec names one business service to report. Exactly one selector
// must be set.
type ServiceSpec struct {
	Name string
	// Cgroup reads the service's cgroup.
	Cgroup CgroupReader
	// ProcessName is a regexp matched against /proc/PID/comm (the comm
	// field of /proc/PID/stat, at most 15 bytes).
	ProcessName string
	// Cmdline is a regexp matched against /proc/PID/cmdline with its NUL
	// separators turned into spaces.
	Cmdline string
}

// serviceNameRE is compiled once and never changed: it is not mutable state.
var serviceNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

// Validate checks the spec: a name made of [a-zA-Z0-9_.-], exactly one
// selector, and selectors that compile as regexps. Errors name the field.
func (s ServiceSpec) Validate() error {
	if s.Name == "" {
		return errors.New("service: Name is empty")
	}
	if !serviceNameRE.MatchString(s.Name) {
		return fmt.Errorf("service %q: Name must match [a-zA-Z0-9_.-]+", s.Name)
	}
	n := 0
	if s.Cgroup != nil {
		n++
	}
	if s.ProcessName != "" {
		n++
	}
	if s.Cmdline != "" {
		n++
	}
	if n != 1 {
		return fmt.Errorf("service %q: exactly one of Cgroup, ProcessName, Cmdline must be set, got %d", s.Name, n)
	}
	if s.ProcessName != "" {
		if _, err := regexp.Compile(s.ProcessName); err != nil {
			return fmt.Errorf("service %q: ProcessName: %w", s.Name, err)
		}
	}
	if s.Cmdline != "" {
		if _, err := regexp.Compile(s.Cmdline); err != nil {
			return fmt.Errorf("service %q: Cmdline: %w", s.Name, err)
		}
	}
	return nil
}

// Config configures a Proc sampler.
type Config struct {
	// ProcRoot is where procfs is mounted; "/proc" when empty. Tests point
	// it at a fixture tree.
	ProcRoot string
	// Batch is the batch parent cgroup; nil means there is none and batch
	// usage reads 0.
	Batch CgroupReader
	// Services are the optional named business services.
	Services []ServiceSpec
	// SelfPID is headroom's own process, whose overhead is read from
	// ProcRoot/SelfPID; os.Getpid() when zero.
	SelfPID int
}

// Proc is the procfs sampler. Like every monitor.Sampler it keeps the
// previous counters, so it is used by one goroutine at a time.
type Proc struct {
	root     string
	fs       procfs.FS
	batch    CgroupReader
	pageSize uint64

	// Readers keep their file open and their buffer between calls; stat
	// is shared by both paths.
	stat    *fileReader
	meminfo *fileReader
	self    *fileReader

	svc *serviceSet // nil when no service is configured

	fast fastState
	full fullState
	// selfCPU is the last SelfCPU of the full path. The fast path reuses
	// it rather than reading /proc/self/stat, which is far more costly
	// to produce for the kernel than the cpu lines of /proc/stat, and
	// headroom's own use does not spike.
	selfCPU float64
}

// fastState is what the fast path remembers of its previous call.
type fastState struct {
	ok    bool
	t     time.Time
	cpu   cpuTimes
	batch time.Duration
}

// fullState is what the full path remembers of its previous call.
type fullState struct {
	fastState
	selfTicks uint64
}

var _ monitor.Sampler = (*Proc)(nil)

// NewProc validates cfg, opens procfs at cfg.ProcRoot and compiles the
// service selectors.
func NewProc(cfg Config) (*Proc, error) {
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = "/proc"
	}
	if cfg.SelfPID == 0 {
		cfg.SelfPID = os.Getpid()
	}
	if cfg.SelfPID < 0 {
		return nil, fmt.Errorf("sampler: SelfPID %d is negative", cfg.SelfPID)
	}
	seen := make(map[string]bool, len(cfg.Services))
	for i, s := range cfg.Services {
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("sampler: Services[%d]: %w", i, err)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("sampler: Services[%d]: duplicate service name %q", i, s.Name)
		}
		seen[s.Name] = true
	}
	pfs, err := procfs.NewFS(cfg.ProcRoot)
	if err != nil {
		return nil, fmt.Errorf("sampler: open procfs at %s: %w", cfg.ProcRoot, err)
	}
	p := &Proc{
		root:     cfg.ProcRoot,
		fs:       pfs,
		batch:    cfg.Batch,
		pageSize: uint64(os.Getpagesize()),
		// /proc/stat is a few KiB on small hosts; the buffer grows once
		// on large ones.
		stat:    newFileReader(filepath.Join(cfg.ProcRoot, "stat"), 8<<10),
		meminfo: newFileReader(filepath.Join(cfg.ProcRoot, "meminfo"), 4<<10),
		self:    newFileReader(filepath.Join(cfg.ProcRoot, strconv.Itoa(cfg.SelfPID), "stat"), 1<<10),
	}
	if len(cfg.Services) > 0 {
		p.svc, err = newServiceSet(cfg.ProcRoot, cfg.Services)
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Close releases the files the sampler keeps open. The sampler must not be
// used afterwards... though it would reopen them if it were.
func (p *Proc) Close() error {
	return errors.Join(p.stat.close(), p.meminfo.close(), p.self.close())
}

// batchCPU reads the batch cgroup's cumulative CPU time, 0 without one.
func (p *Proc) batchCPU() (time.Duration, error) {
	if p.batch == nil {
		return 0, nil
	}
	d, err := p.batch.CPUUsage()
	if err != nil {
		return 0, fmt.Errorf("batch cgroup CPU usage: %w", err)
	}
	return d, nil
}

// SampleFast reads /proc/stat and the batch cgroup's CPU counter only, and
// returns the CPU fields with Fast set. SelfCPU is the last full sample's.
// On error, including ErrWarmingUp, the sample is zero.
func (p *Proc) SampleFast(now time.Time) (estimate.Sample, error) {
	st, err := readProcStatCPU(p.stat)
	if err != nil {
		return estimate.Sample{}, err
	}
	batch, err := p.batchCPU()
	if err != nil {
		return estimate.Sample{}, err
	}
	prev := p.fast
	p.fast = fastState{ok: true, t: now, cpu: st.CPU, batch: batch}
	if err := checkPrev(prev.ok, prev.t, now, "fast"); err != nil {
		return estimate.Sample{}, err
	}
	dt := now.Sub(prev.t)
	s := estimate.Sample{
		Time:       now,
		Fast:       true,
		OnlineCPUs: float64(st.Online),
		HostCPU:    hostCores(prev.cpu, st.CPU, st.Online),
		BatchCPU:   durationRate(prev.batch, batch, dt),
		SelfCPU:    p.selfCPU,
	}
	s.BusinessCPU = max(0, s.HostCPU-s.BatchCPU-s.SelfCPU)
	return s, nil
}

// Sample takes a full sample. Everything is read before anything is
// recorded, so a failed sample leaves the previous counters in place and the
// next one averages over the longer interval. On error, including
// ErrWarmingUp, the sample is zero.
func (p *Proc) Sample(now time.Time) (estimate.Sample, error) {
	st, err := readProcStatCPU(p.stat)
	if err != nil {
		return estimate.Sample{}, err
	}
	batchCPU, err := p.batchCPU()
	if err != nil {
		return estimate.Sample{}, err
	}
	self, err := p.readSelf()
	if err != nil {
		return estimate.Sample{}, err
	}
	mem, err := p.readMeminfo()
	if err != nil {
		return estimate.Sample{}, err
	}
	var batchMem uint64
	if p.batch != nil {
		if batchMem, err = p.batch.MemoryWorkingSet(); err != nil {
			return estimate.Sample{}, fmt.Errorf("batch cgroup memory working set: %w", err)
		}
	}
	psi, err := p.readPSI()
	if err != nil {
		return estimate.Sample{}, err
	}
	// Services keep their own previous readings and times, so they are
	// read last: a failure above does not disturb them.
	var services []estimate.ServiceUsage
	if p.svc != nil {
		if services, err = p.svc.sample(now); err != nil {
			return estimate.Sample{}, err
		}
	}

	prev := p.full
	p.full = fullState{
		fastState: fastState{ok: true, t: now, cpu: st.CPU, batch: batchCPU},
		selfTicks: self.Utime + self.Stime,
	}
	if err := checkPrev(prev.ok, prev.t, now, "full"); err != nil {
		return estimate.Sample{}, err
	}
	dt := now.Sub(prev.t)
	p.selfCPU = ticksRate(prev.selfTicks, p.full.selfTicks, dt)

	s := estimate.Sample{
		Time:         now,
		OnlineCPUs:   float64(st.Online),
		HostCPU:      hostCores(prev.cpu, st.CPU, st.Online),
		BatchCPU:     durationRate(prev.batch, batchCPU, dt),
		SelfCPU:      p.selfCPU,
		MemTotal:     mem.Total,
		MemAvailable: mem.Available,
		BatchMem:     batchMem,
		SelfMem:      self.RSSPages * p.pageSize,
		PSI:          psi,
		Services:     services,
	}
	s.BusinessCPU = max(0, s.HostCPU-s.BatchCPU-s.SelfCPU)
	used := subFloor(mem.Total, mem.Available)
	s.BusinessMem = subFloor(subFloor(used, s.BatchMem), s.SelfMem)
	return s, nil
}

// checkPrev returns ErrWarmingUp when there is no usable previous reading
// of the same kind: none yet, or one that is not older than now (a rate over
// a zero or negative interval is meaningless).
func checkPrev(ok bool, prev, now time.Time, kind string) error {
	if !ok {
		return ErrWarmingUp
	}
	if !now.After(prev) {
		return fmt.Errorf("%w: %s sample at %v is not after the previous one at %v",
			ErrWarmingUp, kind, now, prev)
	}
	return nil
}

// hostCores turns two /proc/stat readings into busy cores. The busy share
// of the elapsed ticks is clamped to [0, 1]: idle and iowait have been seen
// to go backwards on some kernels, which would otherwise push the share
// past 1 or below 0.
func hostCores(prev, cur cpuTimes, online int) float64 {
	dTotal := subFloor(cur.Total, prev.Total)
	if dTotal == 0 {
		// No tick elapsed (the calls were closer than 10 ms): no
		// evidence of any use.
		return 0
	}
	dBusy := subFloor(cur.Busy, prev.Busy)
	share := float64(dBusy) / float64(dTotal)
	return min(share, 1) * float64(online)
}

// durationRate is the cores used by a cumulative CPU time over dt. A counter
// that went backwards (a cgroup recreated) counts as no use.
func durationRate(prev, cur, dt time.Duration) float64 {
	if cur <= prev || dt <= 0 {
		return 0
	}
	return float64(cur-prev) / float64(dt)
}

// ticksRate is the cores used by a cumulative USER_HZ tick count over dt.
func ticksRate(prev, cur uint64, dt time.Duration) float64 {
	if dt <= 0 {
		return 0
	}
	return float64(subFloor(cur, prev)) / userHZ / dt.Seconds()
}

// subFloor is a - b, or 0 when b > a (no uint64 wrap-around).
func subFloor(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

// readSelf reads headroom's own /proc/PID/stat.
func (p *Proc) readSelf() (pidStat, error) {
	b, err := p.self.read()
	if err != nil {
		return pidStat{}, fmt.Errorf("read %s: %w", p.self.path, err)
	}
	st, err := parsePIDStat(b)
	if err != nil {
		return pidStat{}, fmt.Errorf("parse %s: %w", p.self.path, err)
	}
	return st, nil
}

// readMeminfo reads /proc/meminfo.
func (p *Proc) readMeminfo() (meminfo, error) {
	b, err := p.meminfo.read()
	if err != nil {
		return meminfo{}, fmt.Errorf("read %s: %w", p.meminfo.path, err)
	}
	m, err := parseMeminfo(b)
	if err != nil {
		return meminfo{}, fmt.Errorf("parse %s: %w", p.meminfo.path, err)
	}
	return m, nil
}

// psiResources are the /proc/pressure files, in estimate.PSI field order.
var psiResources = [...]string{"cpu", "memory", "io"}

// readPSI reads /proc/pressure. A missing directory (a kernel before 4.20,
// or PSI disabled at boot) is not an error: PSI.Present is false.
func (p *Proc) readPSI() (estimate.PSI, error) {
	dir := filepath.Join(p.root, "pressure")
	if _, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return estimate.PSI{}, nil
		}
		return estimate.PSI{}, fmt.Errorf("stat %s: %w", dir, err)
	}
	psi := estimate.PSI{Present: true}
	out := [...]*estimate.Pressure{&psi.CPU, &psi.Memory, &psi.IO}
	for i, res := range psiResources {
		st, err := p.fs.PSIStatsForResource(res)
		if err != nil {
			return estimate.PSI{}, fmt.Errorf("read %s: %w", filepath.Join(dir, res), err)
		}
		pr, err := pressureFromStats(st)
		if err != nil {
			return estimate.PSI{}, fmt.Errorf("parse %s: %w", filepath.Join(dir, res), err)
		}
		*out[i] = pr
	}
	return psi, nil
}

// pressureFromStats converts a procfs PSI reading. The "some" line is
// always there; "full" is missing from the cpu file before Linux 5.13 and
// then reads as zero.
func pressureFromStats(st procfs.PSIStats) (estimate.Pressure, error) {
	if st.Some == nil {
		return estimate.Pressure{}, errors.New(`no "some" line`)
	}
	pr := estimate.Pressure{
		SomeAvg10: st.Some.Avg10,
		SomeTotal: time.Duration(st.Some.Total) * time.Microsecond,
	}
	if st.Full != nil {
		pr.FullAvg10 = st.Full.Avg10
		pr.FullTotal = time.Duration(st.Full.Total) * time.Microsecond
	}
	return pr, nil
}

// meminfo is the part of /proc/meminfo the sampler uses, in bytes.
type meminfo struct {
	Total     uint64
	Available uint64
}

// parseMeminfo extracts MemTotal and MemAvailable. Both must be present and
// well formed (MemAvailable exists since Linux 3.14); other lines are
// skipped without being parsed.
func parseMeminfo(b []byte) (meminfo, error) {
	var m meminfo
	var haveTotal, haveAvail bool
	for len(b) > 0 && !(haveTotal && haveAvail) {
		line := b
		b = nil
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line, b = line[:i], line[i+1:]
		}
		var dst *uint64
		var rest []byte
		switch {
		case hasPrefix(line, "MemTotal:"):
			dst, rest, haveTotal = &m.Total, line[len("MemTotal:"):], true
		case hasPrefix(line, "MemAvailable:"):
			dst, rest, haveAvail = &m.Available, line[len("MemAvailable:"):], true
		default:
			continue
		}
		v, err := parseMeminfoValue(rest)
		if err != nil {
			return meminfo{}, fmt.Errorf("%s: %w", truncForErr(line), err)
		}
		*dst = v
	}
	if !haveTotal {
		return meminfo{}, errors.New("no MemTotal line")
	}
	if !haveAvail {
		return meminfo{}, errors.New("no MemAvailable line (Linux before 3.14?)")
	}
	if m.Available > m.Total {
		return meminfo{}, fmt.Errorf("MemAvailable %d > MemTotal %d", m.Available, m.Total)
	}
	return m, nil
}

// parseMeminfoValue parses "   123 kB" (or a unitless count) into bytes.
func parseMeminfoValue(b []byte) (uint64, error) {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	v, rest, err := parseUint(b)
	if err != nil {
		return 0, err
	}
	switch {
	case len(rest) == 0:
		return v, nil
	case string(rest) == " kB": // compared without allocating

		if v > ^uint64(0)/1024 {
			return 0, errOverflow
		}
		return v * 1024, nil
	default:
		return 0, fmt.Errorf("unexpected unit %q", truncForErr(rest))
	}
}

func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}

// pidStat is the part of /proc/PID/stat the sampler uses.
type pidStat struct {
	// Comm aliases the parsed buffer.
	Comm      []byte
	Utime     uint64 // field 14, USER_HZ ticks
	Stime     uint64 // field 15
	StartTime uint64 // field 22, ticks after boot: tells a reused pid apart
	RSSPages  uint64 // field 24
}

// parsePIDStat parses /proc/PID/stat without allocating. The comm field is
// in parentheses and may itself contain spaces and parentheses, so the
// fields are counted from the last ')'.
func parsePIDStat(b []byte) (pidStat, error) {
	open, close := -1, -1
	for i, c := range b {
		if c == '(' {
			open = i
			break
		}
	}
	for i := len(b) - 1; i > open; i-- {
		if b[i] == ')' {
			close = i
			break
		}
	}
	if open < 0 || close < 0 {
		return pidStat{}, errors.New("no (comm) field")
	}
	st := pidStat{Comm: b[open+1 : close]}
	rest := b[close+1:]
	// Fields after ")" start at 3 (state).
	const last = 24
	for field := 3; field <= last; field++ {
		if len(rest) == 0 || rest[0] != ' ' {
			return pidStat{}, fmt.Errorf("truncated before field %d", field)
		}
		rest = rest[1:]
		end := 0
		for end < len(rest) && rest[end] != ' ' && rest[end] != '\n' {
			end++
		}
		var dst *uint64
		switch field {
		case 14:
			dst = &st.Utime
		case 15:
			dst = &st.Stime
		case 22:
			dst = &st.StartTime
		case 24:
			dst = &st.RSSPages
		}
		if dst != nil {
			v, tail, err := parseUint(rest[:end])
			if err != nil || len(tail) != 0 {
				return pidStat{}, fmt.Errorf("field %d: %q is not a number", field, truncForErr(rest[:end]))
			}
			*dst = v
		}
		rest = rest[end:]
	}
	return st, nil
}
