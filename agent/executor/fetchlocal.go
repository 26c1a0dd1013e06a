package executor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// ErrFetchRefused is returned (wrapped) for a local artifact outside every
// Config.FetchAllowDirs.
var ErrFetchRefused = errors.New("not under any --fetch-allow-dir")

// maxHelperStderr bounds what a reader helper may say about a failure.
const maxHelperStderr = 4 << 10

// resolveAllowDirs makes every allowed directory absolute with its
// symlinks evaluated, so that a candidate resolved the same way compares
// by prefix.
func resolveAllowDirs(dirs []string) ([]string, error) {
	out := make([]string, 0, len(dirs))
	for _, d := range dirs {
		if !filepath.IsAbs(d) {
			return nil, fmt.Errorf("fetch allow dir %q: must be an absolute path", d)
		}
		r, err := filepath.EvalSymlinks(d)
		if err != nil {
			return nil, fmt.Errorf("fetch allow dir %q: %w", d, err)
		}
		fi, err := os.Stat(r)
		if err != nil {
			return nil, fmt.Errorf("fetch allow dir %q: %w", d, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("fetch allow dir %q: not a directory", d)
		}
		out = append(out, r)
	}
	return out, nil
}

func under(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	return false
}

// checkLocal says whether the local path p may be fetched and returns it
// with its symlinks evaluated. A path that is not under an allowed
// directory even as written is refused before the filesystem is touched,
// so a refusal tells nothing about what exists; one that is, must still
// be under one once its links are followed.
func (e *Executor) checkLocal(p string) (string, error) {
	clean := filepath.Clean(p)
	if !filepath.IsAbs(clean) || !under(clean, e.cfg.FetchAllowDirs) && !under(clean, e.allowDirs) {
		return "", ErrFetchRefused
	}
	r, err := filepath.EvalSymlinks(clean)
	if err != nil {
		return "", err
	}
	if !under(r, e.allowDirs) {
		return "", fmt.Errorf("resolves to %s: %w", r, ErrFetchRefused)
	}
	return r, nil
}

// openLocal opens an allowed local artifact with the task's credentials,
// never the agent's: a root agent runs cat(1) as the task's uid and reads
// its output, so a file the task's user could not read is not fetched,
// whatever links or races stand between the check and the open. A root
// open followed by a chown would hand the task anything root can read.
func (e *Executor) openLocal(ctx context.Context, p string, cred *syscall.Credential) (io.ReadCloser, error) {
	resolved, err := e.checkLocal(p)
	if err != nil {
		return nil, err
	}
	if cred == nil {
		return os.Open(resolved)
	}
	cat, err := exec.LookPath("cat")
	if err != nil {
		return nil, fmt.Errorf("reading %s as uid %d: %w", resolved, cred.Uid, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(cctx, cat, "--", resolved)
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	h := &helperReader{cmd: cmd, cancel: cancel, path: resolved, uid: cred.Uid}
	cmd.Stderr = &h.stderr
	if h.out, err = cmd.StdoutPipe(); err != nil {
		cancel()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("reading %s as uid %d: %w", resolved, cred.Uid, err)
	}
	return h, nil
}

// helperReader is the output of the reader helper; its end is an error
// unless the helper succeeded, so a file it could not read (permission
// denied, a directory) fails the fetch with the helper's reason.
type helperReader struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	out    io.ReadCloser
	path   string
	uid    uint32
	stderr limitedBuffer

	once    sync.Once
	waitErr error
}

func (h *helperReader) Read(b []byte) (int, error) {
	n, err := h.out.Read(b)
	if errors.Is(err, io.EOF) {
		if werr := h.wait(); werr != nil {
			return n, werr
		}
	}
	return n, err
}

func (h *helperReader) wait() error {
	h.once.Do(func() {
		err := h.cmd.Wait()
		h.cancel()
		if err != nil {
			msg := strings.TrimSpace(h.stderr.String())
			if msg == "" {
				msg = err.Error()
			}
			h.waitErr = fmt.Errorf("reading %s as the task's uid %d: %s", h.path, h.uid, msg)
		}
	})
	return h.waitErr
}

// Close stops the helper if it is still writing (a size limit hit) and
// reaps it.
func (h *helperReader) Close() error {
	h.cancel()
	_ = h.out.Close()
	_ = h.wait()
	return nil
}

// limitedBuffer keeps the first maxHelperStderr bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *limitedBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := maxHelperStderr - l.buf.Len(); room > 0 {
		l.buf.Write(b[:min(len(b), room)])
	}
	return len(b), nil
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
