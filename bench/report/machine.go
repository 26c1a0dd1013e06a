package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/headroom-dev/headroom/internal/cgroup"
)

// machine describes the host the report is written on, which is the one
// `make bench` ran on.
type machine struct {
	cpu     string
	cores   int
	memory  string
	kernel  string
	os      string
	cgroups string
	goVer   string
}

func readMachine(h header) machine {
	m := machine{cpu: h.cpu, cores: runtime.NumCPU(), goVer: runtime.Version()}
	if v := firstField("/proc/cpuinfo", "model name", ":"); v != "" {
		m.cpu = v
	}
	if v := firstField("/proc/meminfo", "MemTotal", ":"); v != "" {
		if kb, err := strconv.ParseFloat(strings.TrimSuffix(v, " kB"), 64); err == nil {
			m.memory = fmt.Sprintf("%.1f GiB", kb/(1<<20))
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = "Linux " + strings.TrimSpace(string(b))
	}
	m.os = strings.Trim(firstField("/etc/os-release", "PRETTY_NAME", "="), `"`)
	m.cgroups = cgroupMode()
	return m
}

// cgroupMode says which layout headroom drives here and, on a hybrid
// host, what the unified mount beside it holds.
func cgroupMode() string {
	h, err := cgroup.Open(cgroup.Config{})
	if err != nil {
		return fmt.Sprintf("none usable (%v)", err)
	}
	if h.Mode() == cgroup.ModeV2 {
		return "v2 (unified)"
	}
	s := "v1 (cpu, cpuacct, memory on v1 mounts)"
	unified := cgroup.DefaultRoot + "/unified"
	var st unix.Statfs_t
	if unix.Statfs(unified, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		ctrl := "no controllers"
		if b, err := os.ReadFile(unified + "/cgroup.controllers"); err == nil && len(strings.Fields(string(b))) > 0 {
			ctrl = "controllers: " + strings.Join(strings.Fields(string(b)), ", ")
		}
		s += fmt.Sprintf("; hybrid, cgroup2 at %s (%s)", unified, ctrl)
	}
	return s
}

// firstField is the value of the first "key<sep>value" line of file.
func firstField(file, key, sep string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
