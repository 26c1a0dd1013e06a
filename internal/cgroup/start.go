package cgroup

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// shimScript blocks until the parent writes a line on the gate fd (the
// parent does so only after the shell is in the group), closes the gate so
// the program does not inherit it, then replaces itself with the program.
// If the parent closes the gate without writing, the shim exits instead of
// running the program outside its group. Arguments after the script are
// passed as $0 (the program path) and "$@" so nothing is re-parsed by the
// shell.
const shimScript = `IFS= read -r _ <&%[1]d || exit 125; exec %[1]d<&-; exec "$0" "$@"`

// shimPath is the shell used for the shim; POSIX sh is enough and is the
// one thing every headroom host has.
const shimPath = "/bin/sh"

// StartInGroup starts cmd with the process already inside g before it
// execs cmd's program, so neither it nor anything it forks ever runs
// outside the group: a plain Start followed by AddProc would let a fast
// child fork before the move and escape.
//
// It works on both layouts by running cmd under a tiny /bin/sh shim that
// waits on a pipe until the shim has been added to g. cmd.Env, Dir,
// Stdin/Stdout/Stderr, ExtraFiles and SysProcAttr are kept as they are.
// The program is exec'd by path, so argv[0] becomes cmd.Path rather than a
// custom cmd.Args[0]. On success cmd is started and the caller must Wait
// for it; on failure the started shim is killed and reaped.
func StartInGroup(cmd *exec.Cmd, g *Group) error {
	if cmd.Process != nil {
		return errors.New("cgroup: StartInGroup: process already started")
	}
	if cmd.Err != nil {
		return fmt.Errorf("cgroup: StartInGroup: %w", cmd.Err)
	}
	if cmd.Path == "" {
		return errors.New("cgroup: StartInGroup: cmd.Path is empty")
	}
	// POSIX sh only parses single-digit fds in redirections.
	gateFD := 3 + len(cmd.ExtraFiles)
	if gateFD > 9 {
		return fmt.Errorf("cgroup: StartInGroup: %d ExtraFiles leave no single-digit fd for the start gate", len(cmd.ExtraFiles))
	}

	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("cgroup: StartInGroup: %w", err)
	}
	origPath, origArgs, origExtra := cmd.Path, cmd.Args, cmd.ExtraFiles
	var args []string
	if len(origArgs) > 1 {
		args = origArgs[1:]
	}
	cmd.Path = shimPath
	cmd.Args = append([]string{"sh", "-c", fmt.Sprintf(shimScript, gateFD), origPath}, args...)
	cmd.ExtraFiles = append(append([]*os.File(nil), origExtra...), r)
	startErr := cmd.Start()
	// Restore the caller's view of cmd; Wait does not use these fields.
	cmd.Path, cmd.Args, cmd.ExtraFiles = origPath, origArgs, origExtra
	r.Close()
	if startErr != nil {
		w.Close()
		return fmt.Errorf("cgroup: StartInGroup %s: %w", origPath, startErr)
	}

	if err := g.AddProc(cmd.Process.Pid); err != nil {
		// Closing the gate unwritten makes the shim exit; the kill makes
		// sure of it. Reap it so no zombie is left behind.
		w.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("cgroup: StartInGroup %s (pid %d): %w", origPath, cmd.Process.Pid, err)
	}
	_, err = w.Write([]byte("\n"))
	w.Close()
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("cgroup: StartInGroup %s: releasing start gate: %w", origPath, err)
	}
	return nil
}
