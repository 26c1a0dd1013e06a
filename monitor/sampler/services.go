package sampler

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	"github.com/headroom-dev/headroom/monitor/estimate"
)

// serviceSet samples the configured services. It is only used on the full
// path.
type serviceSet struct {
	root     string
	pageSize uint64
	svcs     []*service
	// procSvcs are the services with a process selector; the /proc scan
	// is skipped when there are none.
	procSvcs []*service
	// needStat: a ProcessName selector exists, so every pid's stat is
	// read (it holds comm as well as the counters, one read for both).
	needStat bool
	// needCmdline: a Cmdline selector exists, so every pid's cmdline is
	// read; stat is then read only for the pids that match.
	needCmdline bool

	// seen remembers whether each pid matched any service. Reading every
	// process's files is what makes a scan cost milliseconds, so a pid
	// known not to match is re-read only once every rescanEvery scans, a
	// different slice of pids each scan (pid % rescanEvery), which spreads
	// the cost evenly. A process that execs into a matching program is
	// thus picked up within rescanEvery samples; services are reported for
	// visibility only (business usage never depends on them), so that lag
	// is harmless.
	seen  map[int]seenPID
	scans int

	// Buffers reused across pids and samples.
	statBuf []byte
	cmdBuf  []byte
}

// service is one configured service and its previous reading.
type service struct {
	name    string
	cgroup  CgroupReader
	comm    *regexp.Regexp
	cmdline *regexp.Regexp

	ok bool      // a previous reading exists
	t  time.Time // time of the previous reading

	// Cgroup services.
	prevUsage time.Duration

	// Process services: previous ticks per pid, and the map being filled
	// by the current scan. The two are swapped after a successful scan so
	// that pids that vanished drop out without reallocating.
	prev, cur map[int]pidTicks
	// Accumulated by the current scan.
	dTicks uint64
	rss    uint64
	procs  int
}

// pidTicks is one process's previous reading. StartTime tells a reused pid
// from the process that had it before.
type pidTicks struct {
	start uint64
	ticks uint64
}

// cmdlineMax bounds how much of a command line is matched: since Linux 4.2
// a cmdline can be as long as ARG_MAX, and the selector only needs the
// start of it.
const cmdlineMax = 4 << 10

func newServiceSet(root string, specs []ServiceSpec) (*serviceSet, error) {
	s := &serviceSet{
		root:     root,
		pageSize: uint64(os.Getpagesize()),
		statBuf:  make([]byte, 1<<10),
		seen:     make(map[int]seenPID),
		cmdBuf:   make([]byte, cmdlineMax),
	}
	for _, spec := range specs {
		sv := &service{name: spec.Name, cgroup: spec.Cgroup}
		var err error
		switch {
		case spec.ProcessName != "":
			if sv.comm, err = regexp.Compile(spec.ProcessName); err != nil {
				return nil, fmt.Errorf("service %q: ProcessName: %w", spec.Name, err)
			}
			s.needStat = true
		case spec.Cmdline != "":
			if sv.cmdline, err = regexp.Compile(spec.Cmdline); err != nil {
				return nil, fmt.Errorf("service %q: Cmdline: %w", spec.Name, err)
			}
			s.needCmdline = true
		}
		if sv.cgroup == nil {
			sv.prev = make(map[int]pidTicks)
			sv.cur = make(map[int]pidTicks)
			s.procSvcs = append(s.procSvcs, sv)
		}
		s.svcs = append(s.svcs, sv)
	}
	return s, nil
}

// cgroupReading is a cgroup service's reading, kept aside until every
// service has been read.
type cgroupReading struct {
	usage time.Duration
	mem   uint64
}

// sample reads every service and returns their usage in configuration
// order. Nothing is recorded unless every read succeeds.
func (s *serviceSet) sample(now time.Time) ([]estimate.ServiceUsage, error) {
	readings := make([]cgroupReading, len(s.svcs))
	for i, sv := range s.svcs {
		if sv.cgroup == nil {
			continue
		}
		u, err := sv.cgroup.CPUUsage()
		if err != nil {
			return nil, fmt.Errorf("service %q: cgroup CPU usage: %w", sv.name, err)
		}
		m, err := sv.cgroup.MemoryWorkingSet()
		if err != nil {
			return nil, fmt.Errorf("service %q: cgroup memory working set: %w", sv.name, err)
		}
		readings[i] = cgroupReading{usage: u, mem: m}
	}
	if len(s.procSvcs) > 0 {
		if err := s.scan(); err != nil {
			for _, sv := range s.procSvcs {
				clear(sv.cur)
			}
			return nil, err
		}
	}

	out := make([]estimate.ServiceUsage, len(s.svcs))
	for i, sv := range s.svcs {
		var dt time.Duration
		if sv.ok {
			dt = now.Sub(sv.t)
		}
		u := estimate.ServiceUsage{Name: sv.name}
		if sv.cgroup != nil {
			r := readings[i]
			if sv.ok {
				u.CPU = durationRate(sv.prevUsage, r.usage, dt)
			}
			u.Mem = r.mem
			sv.prevUsage = r.usage
		} else {
			if sv.ok {
				u.CPU = ticksRate(0, sv.dTicks, dt)
			}
			u.Mem = sv.rss
			u.Procs = sv.procs
			sv.prev, sv.cur = sv.cur, sv.prev
			clear(sv.cur)
		}
		sv.ok, sv.t = true, now
		out[i] = u
	}
	return out, nil
}

// scan walks ProcRoot/[0-9]* once and accumulates, for every process
// service, the ticks used since the previous scan by the pids it matches,
// their resident set and their count. A pid seen for the first time (or
// reused by a new process) contributes no ticks this time: how much of its
// CPU time falls in the interval is unknown.
func (s *serviceSet) scan() error {
	for _, sv := range s.procSvcs {
		sv.dTicks, sv.rss, sv.procs = 0, 0, 0
	}
	d, err := openProcDir(s.root)
	if err != nil {
		return fmt.Errorf("scan %s: %w", s.root, err)
	}
	defer d.close()
	gen := s.scans
	slice := s.scans % rescanEvery
	s.scans++
	for {
		names, err := d.dir.Readdirnames(512)
		for _, name := range names {
			pid, ok := parsePID(name)
			if !ok {
				continue
			}
			if e, known := s.seen[pid]; known && !e.matched && pid%rescanEvery != slice {
				e.gen = gen
				s.seen[pid] = e
				continue
			}
			matched, err := s.scanPID(d, pid, name)
			if err != nil {
				return err
			}
			s.seen[pid] = seenPID{matched: matched, gen: gen}
		}
		if errors.Is(err, io.EOF) {
			if slice == 0 {
				// Forget pids that have exited, once per round.
				for pid, e := range s.seen {
					if e.gen != gen {
						delete(s.seen, pid)
					}
				}
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("scan %s: %w", s.root, err)
		}
	}
}

// seenPID is what a scan remembers of a pid.
type seenPID struct {
	matched bool
	gen     int // the last scan that listed it
}

// rescanEvery is how many scans it takes to re-read every process that
// did not match.
const rescanEvery = 30

// scanPID matches one process against the process services. name is the
// pid directory's name. matched reports whether any service took it.
func (s *serviceSet) scanPID(d procDir, pid int, name string) (matched bool, err error) {
	var st pidStat
	haveStat := false
	// readStat reads and parses the pid's stat; false without an error
	// means the process is gone.
	readStat := func() (bool, error) {
		b, err := d.readFile(name+"/stat", &s.statBuf, true)
		if err != nil {
			if isGone(err) {
				return false, nil
			}
			return false, fmt.Errorf("read %s: %w", filepath.Join(s.root, name, "stat"), err)
		}
		if len(b) == 0 {
			return false, nil // exiting
		}
		if st, err = parsePIDStat(b); err != nil {
			return false, fmt.Errorf("parse %s: %w", filepath.Join(s.root, name, "stat"), err)
		}
		haveStat = true
		return true, nil
	}
	if s.needStat {
		if ok, err := readStat(); !ok {
			return false, err
		}
	}
	var cmdline []byte
	if s.needCmdline {
		b, err := d.readFile(name+"/cmdline", &s.cmdBuf, false)
		if err != nil {
			if isGone(err) {
				return false, nil
			}
			return false, fmt.Errorf("read %s: %w", filepath.Join(s.root, name, "cmdline"), err)
		}
		cmdline = joinCmdline(b)
	}
	for _, sv := range s.procSvcs {
		var match bool
		if sv.comm != nil {
			match = sv.comm.Match(st.Comm)
		} else {
			match = sv.cmdline.Match(cmdline)
		}
		if !match {
			continue
		}
		if !haveStat {
			if ok, err := readStat(); !ok {
				return false, err
			}
		}
		matched = true
		ticks := st.Utime + st.Stime
		if p, ok := sv.prev[pid]; ok && p.start == st.StartTime {
			sv.dTicks += subFloor(ticks, p.ticks)
		}
		sv.cur[pid] = pidTicks{start: st.StartTime, ticks: ticks}
		sv.rss += st.RSSPages * s.pageSize
		sv.procs++
	}
	return matched, nil
}

// joinCmdline turns the NUL-separated arguments into one space-separated
// string, in place. Trailing NULs (the terminator of the last argument) go.
func joinCmdline(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	for i, c := range b {
		if c == 0 {
			b[i] = ' '
		}
	}
	return b
}

// parsePID reports whether name is a pid directory name (all digits).
func parsePID(name string) (int, bool) {
	if name == "" || len(name) > 10 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// isGone reports whether err means the process exited under us, which is
// normal during a scan.
func isGone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}
