package executor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// Two tasks get uids of their own and cannot reach each other: the second
// tries to read, list and write the first's sandbox, read its environment
// and kill it, and reports what worked.
func TestTasksCannotReachEachOther(t *testing.T) {
	hs := newHarness(t, false, nil)
	victim := newInfo("victim", "echo s3cr3t > secret; exec sleep 600")
	victim.Env = map[string]string{"SECRET": "hunter2"}
	if err := hs.e.Launch(victim); err != nil {
		t.Fatal(err)
	}
	v := waitFor(t, hs.e, "victim", api.TaskRunning)
	testutil.Eventually(t, waitLong, 20*time.Millisecond, func() bool {
		_, err := os.Stat(filepath.Join(v.Sandbox, "secret"))
		return err == nil
	}, "the victim wrote its secret")
	g, err := hs.h.Load(hs.parent + "/victim")
	if err != nil {
		t.Fatal(err)
	}
	pids, err := g.Procs()
	if err != nil || len(pids) == 0 {
		t.Fatalf("victim processes: %v %v", pids, err)
	}
	pid := pids[0]

	script := fmt.Sprintf(`S=%s P=%d
cat "$S/secret" && echo read=yes || echo read=no
ls "$S" && echo list=yes || echo list=no
(echo x > "$S/planted") && echo write=yes || echo write=no
ls /proc/$P/cwd/ && echo cwd=yes || echo cwd=no
grep -q hunter2 /proc/$P/environ && echo environ=yes || echo environ=no
kill -KILL $P && echo signal=yes || echo signal=no
kill -KILL -1; echo done`, v.Sandbox, pid)
	if err := hs.e.Launch(newInfo("attacker", script)); err != nil {
		t.Fatal(err)
	}
	a := waitTerminal(t, hs.e, "attacker")
	out := readLog(t, a, "stdout")
	for _, want := range []string{"read=no", "list=no", "write=no", "cwd=no", "environ=no", "signal=no", "done"} {
		mustContain(t, out, want, "the attacker's report")
	}
	if _, err := os.Lstat(filepath.Join(v.Sandbox, "planted")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the attacker planted a file in the victim's sandbox: %v", err)
	}
	if now, _ := hs.e.Task("victim"); now.Status.State != api.TaskRunning {
		t.Errorf("victim is %s after the attack, want running", now.Status.State)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Errorf("victim pid %d is gone: %v", pid, err)
	}

	r := DefaultUIDRange
	if v.UID == a.UID || !r.contains(uint64(v.UID)) || !r.contains(uint64(a.UID)) {
		t.Errorf("uids %d and %d: want two different ones from %s", v.UID, a.UID, r)
	}
	for _, tv := range []TaskView{v, a} {
		fi, err := os.Stat(tv.Sandbox)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != 0o700 || st.Uid != tv.UID || st.Gid != tv.UID {
			t.Errorf("sandbox %s: mode %o owner %d:%d, want 0700 %d:%d", tv.Sandbox, fi.Mode().Perm(), st.Uid, st.Gid, tv.UID, tv.UID)
		}
	}
}

// A task's uid is in its checkpoint: a restarted agent re-adopts the task
// under the same uid and never hands that uid to a new task; Forget
// releases it.
func TestDynamicUIDSurvivesRestartAndIsReleased(t *testing.T) {
	h := hostHierarchy(t)
	parent, work := newParent(t, h), newWorkDir(t)
	narrow := func(c *Config) { c.UIDRange = UIDRange{First: 61900, Last: 61901} }
	hs := newHarnessOn(t, h, parent, work, false, narrow)
	if err := hs.e.Launch(newInfo("old", "exec sleep 600")); err != nil {
		t.Fatal(err)
	}
	before := waitFor(t, hs.e, "old", api.TaskRunning)
	hs.stop()

	hs2 := newExecutorOn(t, h, parent, work, narrow)
	if _, err := hs2.e.Recover(t.Context()); err != nil {
		t.Fatal(err)
	}
	hs2.start(false)
	after := waitFor(t, hs2.e, "old", api.TaskRunning)
	if after.UID != before.UID || after.Status.Reason != api.ReasonRecovered {
		t.Fatalf("re-adopted as uid %d (%s), want uid %d recovered", after.UID, after.Status.Reason, before.UID)
	}
	if err := hs2.e.Launch(newInfo("new", "id -u")); err != nil {
		t.Fatal(err)
	}
	n := waitTerminal(t, hs2.e, "new")
	if got := strings.TrimSpace(readLog(t, n, "stdout")); n.UID == before.UID || got != fmt.Sprint(n.UID) {
		t.Fatalf("new task ran as uid %s (view %d), the re-adopted task holds %d", got, n.UID, before.UID)
	}
	// The range is full now (two uids): a third task is refused.
	if err := hs2.e.Launch(newInfo("third", "true")); err == nil || !strings.Contains(err.Error(), "uid range") {
		t.Fatalf("launch with the range exhausted: %v", err)
	}
	if err := hs2.e.Kill("old", api.TaskKilled, api.ReasonKilledByRequest, ""); err != nil {
		t.Fatal(err)
	}
	if err := hs2.e.Forget("old"); err != nil {
		t.Fatal(err)
	}
	if err := hs2.e.Launch(newInfo("third", "true")); err != nil {
		t.Fatalf("launch after the uid was released: %v", err)
	}
	if v := waitTerminal(t, hs2.e, "third"); v.UID != before.UID {
		t.Errorf("third task got uid %d, want the released %d", v.UID, before.UID)
	}
}

// A range holding an account of the host is refused at start.
func TestUIDRangeOverlappingAccountsRefused(t *testing.T) {
	h := hostHierarchy(t)
	dir := t.TempDir()
	passwd, group := filepath.Join(dir, "passwd"), filepath.Join(dir, "group")
	if err := os.WriteFile(passwd, []byte("root:x:0:0::/root:/bin/sh\nbuild:x:61005:100::/home/build:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(group, []byte("root:x:0:\nci:x:61500:\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		r    UIDRange
		want string
	}{
		{UIDRange{61000, 61999}, `user "build" (uid 61005)`},
		{UIDRange{61400, 61600}, `group "ci" (gid 61500)`},
	} {
		cfg := testConfig(h, newParent(t, h), newWorkDir(t))
		cfg.UIDRange, cfg.PasswdFile, cfg.GroupFile = tc.r, passwd, group
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("range %s: err = %v, want it to name %s", tc.r, err, tc.want)
		}
	}
	cfg := testConfig(h, newParent(t, h), newWorkDir(t))
	cfg.UIDRange, cfg.PasswdFile, cfg.GroupFile = UIDRange{62000, 62999}, passwd, group
	if _, err := New(cfg); err != nil {
		t.Fatalf("a free range: %v", err)
	}
	if _, err := ParseUIDRange("0-10"); err == nil {
		t.Error("a range including uid 0 was accepted")
	}
}
