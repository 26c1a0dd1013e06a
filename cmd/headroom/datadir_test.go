package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestMakeDataDir: the data dir itself is private, the parents it creates
// are not, so that an agent's work dir beside it (the README's
// /tmp/headroom-tour/{master,agent}) stays traversable for its tasks; an
// existing data dir keeps the mode its owner gave it.
func TestMakeDataDir(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "tour", "master")
	if err := makeDataDir(dir); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Dir(dir): 0o755 &^ umask(t)} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", path, got, want)
		}
	}
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := makeDataDir(dir); err != nil {
		t.Fatalf("an existing data dir: %v", err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o750 {
		t.Errorf("an existing data dir's mode changed: %v %v", st.Mode(), err)
	}

	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := makeDataDir(filepath.Join(file, "master")); err == nil {
		t.Error("a data dir below a file: no error")
	}
}

// umask is this process's umask, read without changing it.
func umask(t *testing.T) os.FileMode {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err != nil {
				t.Fatalf("umask %q: %v", v, err)
			}
			return os.FileMode(m)
		}
	}
	t.Fatal("no Umask in /proc/self/status")
	return 0
}
