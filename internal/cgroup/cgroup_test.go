package cgroup

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixture builds a fake cgroup root: dirs are created, files written.
func fixture(t *testing.T, dirs []string, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestModeString(t *testing.T) {
	for m, want := range map[Mode]string{ModeAuto: "auto", ModeV1: "v1", ModeV2: "v2"} {
		if got := m.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(m), got, want)
		}
	}
}

func TestOpenDetect(t *testing.T) {
	tests := []struct {
		name     string
		dirs     []string
		files    map[string]string
		symlinks map[string]string // link name -> target
		mode     Mode
		want     Mode
		wantErr  []string // substrings; "$ROOT" is replaced by the fixture root
		check    func(t *testing.T, h *Hierarchy)
	}{
		{
			name:  "v2 auto",
			files: map[string]string{"cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc\n"},
			want:  ModeV2,
			check: func(t *testing.T, h *Hierarchy) {
				if !h.v2.pids {
					t.Error("pids controller not detected")
				}
			},
		},
		{
			name:  "v2 without pids",
			files: map[string]string{"cgroup.controllers": "cpu memory\n"},
			want:  ModeV2,
			check: func(t *testing.T, h *Hierarchy) {
				if h.v2.pids {
					t.Error("pids controller detected but not listed")
				}
			},
		},
		{
			name:    "v2 lacking memory",
			files:   map[string]string{"cgroup.controllers": "cpu io\n"},
			wantErr: []string{"$ROOT", "[memory] missing", "missing controller directories"},
		},
		{
			name:    "empty cgroup2 like the hybrid unified mount",
			files:   map[string]string{"cgroup.controllers": ""},
			wantErr: []string{"$ROOT", "[cpu memory]"},
		},
		{
			name: "v1 split cpu and cpuacct",
			dirs: []string{"cpu", "cpuacct", "memory", "pids", "cpuset"},
			want: ModeV1,
			check: func(t *testing.T, h *Hierarchy) {
				if len(h.v1.ctrlDirs) != 4 || h.v1.pids == "" {
					t.Errorf("ctrlDirs = %v, pids = %q", h.v1.ctrlDirs, h.v1.pids)
				}
			},
		},
		{
			name:     "v1 co-mounted with symlinks",
			dirs:     []string{"cpu,cpuacct", "memory"},
			symlinks: map[string]string{"cpu": "cpu,cpuacct", "cpuacct": "cpu,cpuacct"},
			want:     ModeV1,
			check: func(t *testing.T, h *Hierarchy) {
				if len(h.v1.ctrlDirs) != 2 {
					t.Errorf("ctrlDirs = %v, want cpu and memory once each", h.v1.ctrlDirs)
				}
				if h.v1.pids != "" {
					t.Errorf("pids = %q, want none", h.v1.pids)
				}
			},
		},
		{
			name: "v1 co-mounted without symlinks",
			dirs: []string{"cpu,cpuacct", "memory"},
			want: ModeV1,
			check: func(t *testing.T, h *Hierarchy) {
				if !strings.HasSuffix(h.v1.cpu, "cpu,cpuacct") || h.v1.cpu != h.v1.cpuacct {
					t.Errorf("cpu = %q, cpuacct = %q", h.v1.cpu, h.v1.cpuacct)
				}
			},
		},
		{
			name:    "v1 without memory",
			dirs:    []string{"cpu", "cpuacct"},
			wantErr: []string{"$ROOT", "missing controller directories [memory]"},
		},
		{
			name:    "empty root",
			wantErr: []string{"$ROOT", "cpu (cpu or cpu,cpuacct)", "memory"},
		},
		{
			name:    "explicit v2 on a v1 tree",
			dirs:    []string{"cpu", "cpuacct", "memory"},
			mode:    ModeV2,
			wantErr: []string{"$ROOT", "cgroup.controllers"},
		},
		{
			name: "explicit v1",
			dirs: []string{"cpu", "cpuacct", "memory"},
			mode: ModeV1,
			want: ModeV1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fixture(t, tt.dirs, tt.files)
			for link, target := range tt.symlinks {
				if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
					t.Fatal(err)
				}
			}
			h, err := Open(Config{Root: root, Mode: tt.mode})
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Open succeeded with mode %v, want error", h.Mode())
				}
				for _, s := range tt.wantErr {
					s = strings.ReplaceAll(s, "$ROOT", root)
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if h.Mode() != tt.want {
				t.Fatalf("Mode = %v, want %v", h.Mode(), tt.want)
			}
			if h.Root() != root {
				t.Fatalf("Root = %q, want %q", h.Root(), root)
			}
			if tt.check != nil {
				tt.check(t, h)
			}
		})
	}
}

func TestOpenBadRoot(t *testing.T) {
	if _, err := Open(Config{Root: "relative/path"}); err == nil || !strings.Contains(err.Error(), "relative/path") {
		t.Errorf("relative root: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := Open(Config{Root: missing}); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing root: %v", err)
	}
	if _, err := Open(Config{Root: t.TempDir(), Mode: Mode(7)}); err == nil {
		t.Error("unknown mode accepted")
	}
}

func TestOpenHostDefault(t *testing.T) {
	h, err := Open(Config{})
	if err != nil {
		t.Skipf("no usable cgroup hierarchy at %s: %v", DefaultRoot, err)
	}
	if h.Mode() == ModeAuto || h.Root() != DefaultRoot {
		t.Fatalf("Mode = %v, Root = %q", h.Mode(), h.Root())
	}
	t.Logf("host cgroup mode: %v", h.Mode())
	// The hybrid layout's unified mount is a real cgroup2 filesystem
	// without controllers: it must be refused, naming what is missing.
	unified := filepath.Join(DefaultRoot, "unified")
	if h.Mode() == ModeV1 {
		if _, err := os.Stat(filepath.Join(unified, "cgroup.controllers")); err == nil {
			_, err := Open(Config{Root: unified})
			if err == nil || !strings.Contains(err.Error(), unified) || !strings.Contains(err.Error(), "cpu") {
				t.Fatalf("Open(%s) = %v, want error naming the root and cpu", unified, err)
			}
		}
	}
}

func TestBadGroupPaths(t *testing.T) {
	root := fixture(t, []string{"cpu", "cpuacct", "memory"}, nil)
	h, err := Open(Config{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"", "/abs/path", "..", "a/../b", "a//b", "a/./b", "a/"} {
		if _, err := h.Create(p, Resources{}); err == nil {
			t.Errorf("Create(%q) accepted", p)
		} else if p != "" && !strings.Contains(err.Error(), p) {
			t.Errorf("Create(%q) error %q does not name the path", p, err)
		}
		if _, err := h.Load(p); err == nil {
			t.Errorf("Load(%q) accepted", p)
		}
	}
	if _, err := h.Load("missing/group"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
	if _, err := h.Create("ok", Resources{CPUShares: 1}); err == nil || !strings.Contains(err.Error(), "CPUShares") {
		t.Errorf("invalid resources: %v", err)
	}
}

// TestV2Fixture drives the v2 code paths against a plain directory tree,
// which is how they get exercised on hosts that run v1.
func TestV2Fixture(t *testing.T) {
	root := fixture(t, nil, map[string]string{
		"cgroup.controllers":              "cpu memory pids\n",
		"cgroup.subtree_control":          "",
		"headroom/cgroup.subtree_control": "",
	})
	h, err := Open(Config{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if h.Mode() != ModeV2 {
		t.Fatalf("Mode = %v", h.Mode())
	}
	g, err := h.Create("headroom/batch", Resources{CPUShares: 1024, CPUQuota: 1.5, MemoryLimit: 1 << 30, PidsLimit: 64})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "headroom", "batch")
	expect := func(file, want string) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want {
			t.Errorf("%s = %q, want %q", file, b, want)
		}
	}
	expect("cpu.weight", "39")
	expect("cpu.max", "150000 100000")
	expect("memory.max", "1073741824")
	expect("pids.max", "64")
	for _, f := range []string{"cgroup.subtree_control", "headroom/cgroup.subtree_control"} {
		b, _ := os.ReadFile(filepath.Join(root, f))
		if !strings.Contains(string(b), "+cpu") || !strings.Contains(string(b), "+memory") || !strings.Contains(string(b), "+pids") {
			t.Errorf("%s = %q, want controllers enabled", f, b)
		}
	}
	if err := g.Update(Resources{}); err != nil {
		t.Fatal(err)
	}
	expect("cpu.weight", "39")
	expect("cpu.max", "max 100000")
	expect("memory.max", "max")
	expect("pids.max", "max")

	for _, f := range []string{"cpu.stat", "memory.stat", "memory.current", "memory.max", "memory.events", "pids.current"} {
		b, err := os.ReadFile(filepath.Join("testdata", "v2", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte("42\n7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if u, err := g.CPUUsage(); err != nil || u != 8370311*1000 {
		t.Errorf("CPUUsage = %v, %v", u, err)
	}
	if ws, err := g.MemoryWorkingSet(); err != nil || ws != 73400320-41058304 {
		t.Errorf("MemoryWorkingSet = %d, %v", ws, err)
	}
	s, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{
		CPUUsage: 8370311000, CPUThrottled: 125000000, CPUPeriods: 5, CPUThrottledPeriods: 2,
		MemoryUsage: 73400320, MemoryWorkingSet: 73400320 - 41058304, MemoryLimit: 268435456,
		OOMKills: 1, Pids: 4,
	}
	if s != want {
		t.Errorf("Stats = %+v\nwant    %+v", s, want)
	}
	if procs, err := g.Procs(); err != nil || len(procs) != 2 || procs[0] != 7 || procs[1] != 42 {
		t.Errorf("Procs = %v, %v", procs, err)
	}
	if kids, err := h.Children("headroom"); err != nil || len(kids) != 1 || kids[0] != "batch" {
		t.Errorf("Children = %v, %v", kids, err)
	}
	// A malformed hot-path file must surface with the file's full path.
	if err := os.WriteFile(filepath.Join(dir, "cpu.stat"), []byte("usage_usec x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := g.CPUUsage(); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "cpu.stat")) {
		t.Errorf("CPUUsage on malformed file: %v", err)
	}
}

func TestV2FixtureNoPids(t *testing.T) {
	root := fixture(t, nil, map[string]string{
		"cgroup.controllers":     "cpu memory\n",
		"cgroup.subtree_control": "",
	})
	h, err := Open(Config{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Create("batch", Resources{}); err != nil {
		t.Fatalf("PidsLimit 0 without pids controller: %v", err)
	}
	if _, err := h.Create("batch", Resources{PidsLimit: 10}); err == nil || !strings.Contains(err.Error(), "PidsLimit") {
		t.Fatalf("PidsLimit without pids controller: %v", err)
	}
}
