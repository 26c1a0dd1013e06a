package executor

import (
	"errors"
	"os"
	"os/user"
	"strings"
	"testing"

	"github.com/headroom-dev/headroom/api"
)

// A task asking for root, or for a user the agent does not list, is
// refused at Launch with an error naming the field; nothing is recorded
// and nothing runs.
func TestLaunchRefusesRootAndUnlistedUsers(t *testing.T) {
	hs := newHarness(t, false, func(c *Config) { c.TaskUsers = []string{"daemon"} })
	for _, name := range []string{"root", "bin"} {
		info := newInfo("as-"+name, "id -u > /tmp/should-not-run")
		info.User = name
		err := hs.e.Launch(info)
		if !errors.Is(err, ErrUserRefused) || !strings.Contains(err.Error(), "user: ") || !strings.Contains(err.Error(), name) {
			t.Fatalf("launch as %s: err = %v, want a refusal naming the user field", name, err)
		}
		if _, ok := hs.e.Task(info.ID); ok {
			t.Errorf("refused task %s is known to the executor", info.ID)
		}
		if _, err := os.Stat(hs.e.checkpointPath(info.ID)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("refused task %s has a checkpoint: %v", info.ID, err)
		}
	}
}

// A listed user is honoured, and root only with AllowRootTasks: the task
// reports the uid it really ran as.
func TestListedUserAndAllowedRoot(t *testing.T) {
	daemon, err := user.Lookup("daemon")
	if err != nil {
		t.Fatalf("the daemon user: %v", err)
	}
	hs := newHarness(t, false, func(c *Config) {
		c.TaskUsers = []string{"daemon"}
		c.AllowRootTasks = true
	})
	for name, want := range map[string]string{"daemon": daemon.Uid, "root": "0"} {
		info := newInfo("as-"+name, "id -u")
		info.User = name
		if err := hs.e.Launch(info); err != nil {
			t.Fatal(err)
		}
		v := waitTerminal(t, hs.e, info.ID)
		if v.Status.State != api.TaskFinished {
			t.Fatalf("task as %s: %+v", name, v.Status)
		}
		if got := strings.TrimSpace(readLog(t, v, "stdout")); got != want {
			t.Errorf("task as %s ran as uid %s, want %s", name, got, want)
		}
	}
}

// Keeping the agent's user on a root agent is running tasks as root:
// refused unless allowed.
func TestDefaultUserRootNeedsAllowRoot(t *testing.T) {
	h := hostHierarchy(t)
	cfg := testConfig(h, newParent(t, h), newWorkDir(t))
	cfg.User = "-"
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "AllowRootTasks") {
		t.Fatalf("New with User \"-\": err = %v, want a refusal", err)
	}
	cfg.AllowRootTasks = true
	if _, err := New(cfg); err != nil {
		t.Fatal(err)
	}
}
