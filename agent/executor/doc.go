// Package executor runs batch tasks on an agent, each in its own cgroup
// (Parent/<task id>) and its own sandbox directory
// (WorkDir/sandboxes/<task id>).
//
// # Life cycle
//
// Launch validates a task, writes its checkpoint as TASK_STAGING and
// queues it; the work happens in a goroutine owned by Run, so Launch
// returns at once and may even be called before Run starts. That goroutine
// fetches the task's artifacts into the sandbox (http(s), file:// or a
// local path, with a size cap, an optional sha256 check and optional
// extraction of tar, tar.gz and zip archives that may not escape the
// sandbox), creates stdout/stderr, hands the sandbox to the task's user,
// moves the task to TASK_STARTING, creates its cgroup with CPU shares,
// optional CPU quota, memory and pids limits, and starts the process
// already inside it (cgroup.StartInGroup), then reports TASK_RUNNING.
// When the process ends the task becomes TASK_FINISHED (exit 0) or
// TASK_FAILED (non-zero exit, signal, OOM kill), its leftover processes
// are killed and its cgroup is removed. Kill ends a task early with the
// state the caller picks (killed, preempted, failed for a disk limit):
// SIGTERM to every process of the cgroup, a grace period, SIGKILL, and
// removal of the cgroup. Forget drops a terminal task's checkpoint and
// sandbox once the master has acknowledged its final status.
//
// Every transition is written to WorkDir/tasks/<id>.json atomically (a
// temporary file, fsync, rename) before it is published on Updates, so the
// master never learns of a state a restarted agent would not know. Updates
// are queued without bound and delivered by Run: a slow reader delays the
// master, never a task.
//
// # Restarts
//
// The agent may stop at any time (upgrade, crash) while tasks keep
// running; batch work must not be lost because the agent restarted. So
// Run does not kill anything when its context ends, and nothing ties a
// task's life to the agent process:
//
//   - stdout and stderr are regular files in the sandbox opened O_APPEND
//     and handed to the process, not pipes. A pipe's reader dies with the
//     agent and the task would then get SIGPIPE or block on a full pipe;
//     a file keeps working, and rotation by copy-truncate shrinks it under
//     a running writer.
//   - the task runs under a tiny /bin/sh wrapper that writes the task's
//     exit status to WorkDir/sandboxes/<id>/.exit-status. A task that ends
//     while no agent runs is not the next agent's child, so wait(2) cannot
//     tell its status; the file can. Kill signals every process in the
//     cgroup, so signals reach the real task and not only the wrapper.
//     The shell reports death by signal N as 128+N, so such exit codes are
//     reported as signaled.
//   - Recover, called once before Run, reads the checkpoints: a task whose
//     cgroup still has processes is re-adopted as running (reason
//     recovered) and watched through its cgroup until it empties; one that
//     ended gets its recorded exit status, or TASK_LOST (agent_restarted)
//     when there is none; task cgroups without a checkpoint are killed and
//     removed so nothing runs unaccounted.
//
// # Users and chroot
//
// A root agent runs tasks as an unprivileged user (the task's User, else
// Config.User, "nobody" by default; "-" keeps root) and chowns the sandbox
// to it. WorkDir and WorkDir/sandboxes must therefore be traversable by
// that user (the executor creates sandboxes 0711). A task with Rootfs is
// chrooted into that sandbox directory through chroot(8), which also
// switches the user; the wrapper stays outside the chroot and so still
// records the exit status in the real sandbox. Inside a chroot the sandbox
// variables (HEADROOM_SANDBOX, MESOS_SANDBOX, HOME) are "/".
//
// # Monitoring
//
// Every DiskInterval Run rotates each running task's logs, records its
// sandbox disk use and cgroup memory working set (TaskView), and kills a
// task over its disk limit as TASK_FAILED, disk_limit_exceeded.
package executor
