package executor

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/headroom-dev/headroom/api"
)

// ErrUserRefused is returned (wrapped, naming the field "user") by Launch
// when the task asks for a user this agent does not let tasks run as.
var ErrUserRefused = errors.New("user refused")

// identity is who a task runs as. It is decided once, at Launch, and kept
// in the checkpoint so that a re-adopted task keeps it (and its health
// checks run as it) after an agent restart.
type identity struct {
	// User is the account name the task or the agent's default named; ""
	// for a uid of the task's own (Dynamic) or the agent's user (Keep).
	User string `json:"user,omitempty"`
	UID  uint32 `json:"uid"`
	GID  uint32 `json:"gid"`
	// Keep: the task runs as the agent's own user, no switch.
	Keep bool `json:"keep,omitempty"`
	// Dynamic: UID (and GID, the same number) was allocated to this task
	// alone from Config.UIDRange; Forget releases it.
	Dynamic bool `json:"dynamic,omitempty"`
}

// cred is the credential to start the task's processes with; nil keeps
// the agent's. Groups is empty so setgroups(0) drops the agent's
// supplementary groups.
func (id *identity) cred() *syscall.Credential {
	if id == nil || id.Keep {
		return nil
	}
	return &syscall.Credential{Uid: id.UID, Gid: id.GID, Groups: []uint32{}}
}

func refuse(format string, args ...any) error {
	return fmt.Errorf("user: %s (%w)", fmt.Sprintf(format, args...), ErrUserRefused)
}

// resolveIdentity decides who info runs as; a Dynamic identity still
// needs its uid from allocUID. Only a root agent switches
// users; a non-root agent runs every task as itself, which is never root.
// Root (uid 0, whatever the name) needs Config.AllowRootTasks; a user the
// task names must be Config.User or one of Config.TaskUsers.
func (e *Executor) resolveIdentity(info api.TaskInfo) (*identity, error) {
	if !e.asRoot {
		return &identity{Keep: true, UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}, nil
	}
	name, asked := info.User, info.User != ""
	if !asked {
		name = e.cfg.User
	}
	if name == "" {
		return &identity{Dynamic: true}, nil // the uid is allocated by Launch
	}
	if name == "-" {
		if !e.cfg.AllowRootTasks {
			return nil, refuse("the agent's default keeps its own user, root, and root tasks are not allowed (--allow-root-tasks)")
		}
		return &identity{Keep: true}, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, refuse("%q: %v", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, refuse("%q has a non-numeric uid/gid %s/%s", name, u.Uid, u.Gid)
	}
	if uid == 0 && !e.cfg.AllowRootTasks {
		return nil, refuse("%q is uid 0 and this agent does not run tasks as root (--allow-root-tasks)", name)
	}
	if asked && name != e.cfg.User && !slices.Contains(e.cfg.TaskUsers, name) && uid != 0 {
		listed := "--task-users is empty"
		if len(e.cfg.TaskUsers) > 0 {
			listed = "--task-users " + strings.Join(e.cfg.TaskUsers, ",")
		}
		return nil, refuse("%q is not a user this agent runs tasks as (%s)", name, listed)
	}
	return &identity{User: name, UID: uint32(uid), GID: uint32(gid)}, nil
}

// UIDRange is the inclusive range of uids (and gids) the executor hands
// out, one per task, like systemd's DynamicUser.
type UIDRange struct{ First, Last uint32 }

// DefaultUIDRange is the range used when Config.UIDRange is zero.
var DefaultUIDRange = UIDRange{First: 61000, Last: 61999}

func (r UIDRange) String() string { return fmt.Sprintf("%d-%d", r.First, r.Last) }

func (r UIDRange) contains(id uint64) bool { return id >= uint64(r.First) && id <= uint64(r.Last) }

// ParseUIDRange parses "FIRST-LAST".
func ParseUIDRange(s string) (UIDRange, error) {
	a, b, ok := strings.Cut(s, "-")
	first, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 32)
	last, err2 := strconv.ParseUint(strings.TrimSpace(b), 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return UIDRange{}, fmt.Errorf("uid range %q: want FIRST-LAST, two numbers", s)
	}
	r := UIDRange{First: uint32(first), Last: uint32(last)}
	return r, r.validate()
}

func (r UIDRange) validate() error {
	switch {
	case r.First == 0:
		return fmt.Errorf("uid range %s: must not include uid 0", r)
	case r.Last < r.First:
		return fmt.Errorf("uid range %s: last below first", r)
	case r.Last >= 1<<31-1:
		return fmt.Errorf("uid range %s: beyond the largest usable uid", r)
	}
	return nil
}

// checkIDsFree refuses a range that holds an account of the host: a task
// given that uid would own the account's files and could signal its
// processes. Both the user and the group databases are read.
func checkIDsFree(r UIDRange, passwd, group string) error {
	for _, f := range []struct{ path, what, kind string }{{passwd, "user", "uid"}, {group, "group", "gid"}} {
		b, err := os.ReadFile(f.path)
		if err != nil {
			return fmt.Errorf("uid range %s: %w", r, err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Split(line, ":")
			if len(fields) < 3 || strings.HasPrefix(line, "#") {
				continue
			}
			if id, err := strconv.ParseUint(fields[2], 10, 32); err == nil && r.contains(id) {
				return fmt.Errorf("uid range %s overlaps %s %q (%s %d) in %s", r, f.what, fields[0], f.kind, id, f.path)
			}
		}
	}
	return nil
}

// allocUIDLocked gives ident the lowest free uid of the range. e.mu is held.
func (e *Executor) allocUIDLocked(ident *identity, taskID string) error {
	r := e.cfg.UIDRange
	for id := uint64(r.First); id <= uint64(r.Last); id++ {
		if _, used := e.uids[uint32(id)]; !used {
			e.uids[uint32(id)] = taskID
			ident.UID, ident.GID = uint32(id), uint32(id)
			return nil
		}
	}
	return fmt.Errorf("user: every uid of the task uid range %s is in use (%d tasks)", r, len(e.uids))
}

// releaseUIDLocked frees a dynamic uid. e.mu is held.
func (e *Executor) releaseUIDLocked(ident *identity, taskID string) {
	if ident != nil && ident.Dynamic && e.uids[ident.UID] == taskID {
		delete(e.uids, ident.UID)
	}
}
