package executor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/headroom-dev/headroom/api"
)

// hostTarget is a root-owned host file a task would like the agent to
// overwrite; it is checked unchanged at cleanup time by the caller.
func hostTarget(t *testing.T) (string, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "precious")
	const body = "precious host file\n"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, body
}

func unchanged(t *testing.T, p, body string) {
	t.Helper()
	b, err := os.ReadFile(p)
	fi, serr := os.Lstat(p)
	if err != nil || serr != nil || string(b) != body || !fi.Mode().IsRegular() || fi.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("host file %s changed: %q (%v, %v)", p, b, err, serr)
	}
}

// shellRootfs is a tar of a minimal rootfs (the host's sh and ln with the
// libraries they need) extracted at the top of the sandbox, so that a
// task chrooted into its whole sandbox (rootfs ".") can plant links
// where the old wrapper wrote.
func shellRootfs(t *testing.T) []byte {
	t.Helper()
	var entries []entry
	seen := map[string]bool{}
	add := func(host string) {
		real, err := filepath.EvalSymlinks(host)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(real)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{host, real} {
			rel := strings.TrimPrefix(name, "/")
			if !seen[rel] {
				seen[rel] = true
				entries = append(entries, entry{name: rel, body: string(b), mode: 0o755})
			}
		}
	}
	for _, bin := range []string{"/bin/sh", "/bin/ln"} {
		add(bin)
		out, err := exec.Command("ldd", bin).Output()
		if err != nil {
			t.Fatalf("ldd %s: %v", bin, err)
		}
		for _, f := range strings.Fields(string(out)) {
			if strings.HasPrefix(f, "/") {
				add(f)
			}
		}
	}
	return makeTar(t, false, entries)
}

// A task that replaces where the agent used to write its exit status and
// logs with links to a root-owned host file, plain or chrooted into its
// sandbox, does not get that file written: the agent writes only in the
// task's meta directory, and its exit status is still the real one.
func TestAgentFilesNotWrittenThroughTaskLinks(t *testing.T) {
	src := newWorkDir(t)
	archive := filepath.Join(src, "rootfs.tar")
	if err := os.WriteFile(archive, shellRootfs(t), 0o644); err != nil {
		t.Fatal(err)
	}
	hs := newHarness(t, false, func(c *Config) {
		c.FetchAllowDirs = []string{src}
		c.LogMaxBytes, c.LogMaxFiles = 64, 2
	})
	for _, chrooted := range []bool{false, true} {
		target, body := hostTarget(t)
		id := fmt.Sprintf("plant-%v", chrooted)
		plant := ""
		for _, name := range []string{".exit-status", "exit-status", "stdout", "stderr", "stdout.1"} {
			plant += fmt.Sprintf("ln -s %s %s; ", target, name)
		}
		info := newInfo(id, plant+"echo planted; exit 7")
		if chrooted {
			info.Rootfs = "."
			info.Fetch = []api.FetchURI{{URI: archive, Extract: true}}
			info.Cmd = "cd / && " + info.Cmd
		}
		if err := hs.e.Launch(info); err != nil {
			t.Fatal(err)
		}
		v := waitTerminal(t, hs.e, id)
		if v.Status.State != api.TaskFailed || v.Status.ExitCode == nil || *v.Status.ExitCode != 7 {
			t.Errorf("%s: status %+v (stderr %q), want failed with exit 7", id, v.Status, readLog(t, v, "stderr"))
		}
		if got := readLog(t, v, "stdout"); got != "planted\n" {
			t.Errorf("%s: stdout %q", id, got)
		}
		if fi, err := os.Lstat(filepath.Join(v.Sandbox, ".exit-status")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s: the task's link was not planted (%v): the test proves nothing", id, err)
		}
		unchanged(t, target, body)
		for _, d := range []string{v.LogDir, filepath.Dir(v.LogDir)} {
			fi, err := os.Stat(d)
			if err != nil || fi.Mode().Perm() != 0o700 || fi.Sys().(*syscall.Stat_t).Uid != 0 {
				t.Errorf("%s: meta dir %s is not root's 0700: %v %v", id, d, fi.Mode(), err)
			}
		}
	}
}
