// Package executor runs batch tasks on an agent, each in its own cgroup
// (Parent/<task id>) and its own sandbox directory
// (WorkDir/sandboxes/<task id>).
//
// # Life cycle
//
// Launch validates a task, writes its checkpoint as TASK_STAGING and
// queues it; the work happens in a goroutine owned by Run, so Launch
// returns at once and may even be called before Run starts. That goroutine
// fetches the task's artifacts into the sandbox (http(s), or file:// and
// local paths under Config.FetchAllowDirs read with the task's uid, with a
// size cap, an optional sha256 check and optional extraction of tar,
// tar.gz and zip archives whose links may not lead out of the sandbox),
// creates stdout/stderr in its meta directory, hands the sandbox to the
// task's user,
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
//   - stdout and stderr are regular files of WorkDir/meta/<id> opened O_APPEND
//     and handed to the process, not pipes. A pipe's reader dies with the
//     agent and the task would then get SIGPIPE or block on a full pipe;
//     a file keeps working, and rotation by copy-truncate shrinks it under
//     a running writer.
//   - the task runs under a tiny /bin/sh wrapper that writes the task's
//     exit status to WorkDir/meta/<id>/exit-status, on a descriptor the
//     agent opened (never through a path). A task that ends
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
// # Users, isolation and chroot
//
// Who a task runs as is decided at Launch and kept in its checkpoint. On
// a root agent a task that names no user gets a uid and gid of its own
// from Config.UIDRange (61000-61999 by default; New refuses a range that
// holds an account of the host), released by Forget; a task may name
// Config.User or one of Config.TaskUsers; uid 0 needs AllowRootTasks.
// Anything else fails Launch with ErrUserRefused, naming the field. The
// sandbox is created 0700 and, once fetched, chowned to the task's uid,
// so tasks cannot reach each other's sandboxes, /proc entries or
// processes. WorkDir and WorkDir/sandboxes are traverse-only (0711).
//
// What the agent writes for a task (its checkpoint in WorkDir/tasks, its
// logs and exit status in WorkDir/meta/<id>) lives in root-owned 0700
// directories the task cannot reach, so a task that plants symlinks in its
// sandbox gets nothing written through them. Every task's oom_score_adj is
// Config.OOMScoreAdj (1000 by default), set by the wrapper before the
// task runs.
//
// A task with Rootfs is chrooted into that sandbox directory through
// chroot(8), which also switches the user; the wrapper stays outside the
// chroot and records the exit status on its descriptor. Inside a chroot
// the sandbox variables (HEADROOM_SANDBOX, MESOS_SANDBOX, HOME) are "/".
//
// # Fetching
//
// http(s) artifacts are downloaded by the agent. file:// URIs and absolute
// paths must lie under Config.FetchAllowDirs as written and once their
// symlinks are evaluated, and are read by cat(1) run with the task's
// credentials, so nothing the task's user could not read is fetched.
// Archives are unpacked through an os.Root of the sandbox; every symlink
// is followed on the disk inside it when created and again after the
// whole archive, and one leading out is refused and removed.
//
// # Monitoring
//
// Every DiskInterval Run rotates each running task's logs, records its
// sandbox and log disk use and cgroup memory working set (TaskView), and
// kills a task over its disk limit as TASK_FAILED, disk_limit_exceeded.
// KillWithin caps the grace of a kill (the agent's evictions).
package executor
