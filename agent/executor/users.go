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

// resolveIdentity decides who info runs as. Only a root agent switches
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
		return nil, refuse("%q is not a user this agent runs tasks as (--task-users %s)", name, strings.Join(e.cfg.TaskUsers, ","))
	}
	return &identity{User: name, UID: uint32(uid), GID: uint32(gid)}, nil
}
