package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sync/errgroup"

	"github.com/headroom-dev/headroom/api"
)

// monitor runs every DiskInterval over the running tasks: it rotates their
// logs, measures sandbox disk use and cgroup memory, and kills a task over
// its disk limit. The kills run in goroutines of g because Kill blocks for
// the grace period and must not stall the checks of other tasks.
func (e *Executor) monitor(ctx context.Context, g *errgroup.Group) {
	tick := e.clock.NewTicker(e.cfg.DiskInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.Chan():
		}
		e.mu.Lock()
		ts := make([]*task, 0, len(e.tasks))
		for _, t := range e.tasks {
			ts = append(ts, t)
		}
		e.mu.Unlock()
		for _, t := range ts {
			if id, used, limit, over := e.check(t); over {
				g.Go(func() error {
					msg := fmt.Sprintf("sandbox uses %d bytes, limit %d", used, limit)
					if err := e.Kill(id, api.TaskFailed, api.ReasonDiskLimit, msg); err != nil {
						e.log.Error("disk limit kill", "task", id, "err", err)
					}
					return nil
				})
			}
		}
	}
}

// check refreshes one running task's figures and rotates its logs; over
// reports a disk-limit breach that has not been acted on yet.
func (e *Executor) check(t *task) (id string, used, limit int64, over bool) {
	t.mu.Lock()
	live := t.phase == phaseStarted && !t.status.State.IsTerminal() && t.kill == nil
	g := t.group
	limit = t.info.Resources.Disk
	t.mu.Unlock()
	if !live {
		return t.id, 0, 0, false
	}
	for _, name := range []string{"stdout", "stderr"} {
		if err := rotate(filepath.Join(t.metaDir, name), e.cfg.LogMaxBytes, e.cfg.LogMaxFiles); err != nil {
			e.log.Warn("log rotation", "task", t.id, "err", err)
		}
	}
	// The logs count against the task's disk limit as its sandbox does.
	used, err := diskUsage(t.sandbox)
	if err != nil {
		e.log.Warn("disk usage", "task", t.id, "err", err)
	}
	logs, err := diskUsage(t.metaDir)
	if err != nil {
		e.log.Warn("disk usage", "task", t.id, "err", err)
	}
	used += logs
	var mem uint64
	var memOK bool
	if g != nil {
		if m, err := g.MemoryWorkingSet(); err == nil {
			mem, memOK = m, true
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.diskBytes = used
	if memOK {
		t.memBytes = mem
	}
	if limit > 0 && used > limit && !t.diskKill {
		t.diskKill = true
		return t.id, used, limit, true
	}
	return t.id, used, limit, false
}

// diskUsage sums the apparent sizes of the regular files under dir. A
// file vanishing mid-walk is the task's business, not an error.
func diskUsage(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		total += fi.Size()
		return nil
	})
	if err != nil {
		return total, fmt.Errorf("disk usage of %s: %w", dir, err)
	}
	return total, nil
}

// rotate copy-truncates path once it is larger than maxBytes: older
// copies shift up (path.1 → path.2 ... up to keep), path is copied to
// path.1 and then truncated in place. Copy-truncate, not rename, because
// the task holds path open with O_APPEND and keeps writing to the same
// inode, which then restarts at offset 0. Bytes written between the copy
// and the truncate are lost; that is the accepted price.
//
// The sandbox belongs to the task's user, who may replace path or path.1
// with a symlink to any file of the host; the agent runs as root, so it
// never follows one: path is opened O_NOFOLLOW and truncated through that
// descriptor, and path.1 is removed and created O_EXCL.
func rotate(path string, maxBytes int64, keep int) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Size() <= maxBytes || keep <= 0 {
		return nil
	}
	src, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("rotate %s: %w", path, err)
	}
	defer src.Close()
	if fi, err = src.Stat(); err != nil || !fi.Mode().IsRegular() {
		return err
	}
	for i := keep - 1; i >= 1; i-- {
		from := fmt.Sprintf("%s.%d", path, i)
		to := fmt.Sprintf("%s.%d", path, i+1)
		if err := os.Rename(from, to); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotate %s: %w", path, err)
		}
	}
	if err := os.Remove(path + ".1"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("rotate %s: %w", path, err)
	}
	dst, err := os.OpenFile(path+".1", os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, fi.Mode().Perm())
	if err != nil {
		return fmt.Errorf("rotate %s: %w", path, err)
	}
	_, cerr := io.Copy(dst, src)
	// Keep the copy owned like the original so the task's user can read
	// its own rotated logs.
	if st, ok := statOwner(fi); ok && cerr == nil {
		_ = dst.Chown(st.uid, st.gid)
	}
	if err := dst.Close(); cerr == nil {
		cerr = err
	}
	if cerr != nil {
		return fmt.Errorf("rotate %s: %w", path, cerr)
	}
	if err := src.Truncate(0); err != nil {
		return fmt.Errorf("rotate %s: %w", path, err)
	}
	return nil
}

type owner struct{ uid, gid int }

func statOwner(fi fs.FileInfo) (owner, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return owner{}, false
	}
	return owner{int(st.Uid), int(st.Gid)}, true
}
