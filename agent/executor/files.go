package executor

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"syscall"
	"time"
)

// Reading a task's files (the agent's GET /api/v1/tasks/{id}/files routes,
// shaped like Mesos' /files/browse and /files/read).
//
// The sandbox belongs to the task's user, who may put symlinks, FIFOs or
// devices in it; the agent reads as root. So every path is opened through
// an os.Root of the sandbox (no "..", absolute path or symlink leads out),
// with O_NONBLOCK (a FIFO must not hang the request) and only regular
// files are read. The logs live out of the task's reach in its meta
// directory; they appear at the sandbox's top level under their own names
// (stdout, stderr and their rotated copies), shadowing sandbox files of
// the same names.

// Limits of a read.
const (
	// MaxReadLength caps one read: a tailing client asks again.
	MaxReadLength = 1 << 20
	// DefaultReadLength is a read's length when the caller names none.
	DefaultReadLength = 64 << 10
	// maxListEntries caps a directory listing.
	maxListEntries = 10000
)

// ErrBadPath is a path that is not a file or directory inside the
// sandbox: absolute, with "..", leading out through a symlink, or not a
// regular file where one is read.
var ErrBadPath = errors.New("invalid sandbox path")

// logName is a name served from the task's log directory.
var logName = regexp.MustCompile(`^(stdout|stderr)(\.[0-9]+)?$`)

// FileEntry is one entry of a directory listing.
type FileEntry struct {
	// Path is relative to the sandbox, as read and list take it.
	Path    string    `json:"path"`
	Size    int64     `json:"size"`
	Mode    string    `json:"mode"`
	ModTime time.Time `json:"mtime"`
	Dir     bool      `json:"dir"`
}

// FileChunk is the answer of a read: Length bytes from Offset as Data,
// and the file's size when it was read. A tail reads next from
// Offset+Length (not the length of Data, in which JSON has replaced bytes
// that are not UTF-8); when Size is below its offset the log was rotated
// and it starts again at 0.
type FileChunk struct {
	Path   string `json:"path"`
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
	Size   int64  `json:"size"`
	Data   string `json:"data"`
}

// localPath checks a caller's path: "" and "." are the sandbox itself.
func localPath(p string) (string, error) {
	if p == "" || p == "." {
		return ".", nil
	}
	if !filepath.IsLocal(p) {
		return "", fmt.Errorf("%w: %q must be relative and stay inside the sandbox", ErrBadPath, p)
	}
	return filepath.Clean(p), nil
}

// taskDirs returns the sandbox and log directory of a known task.
func (e *Executor) taskDirs(id string) (sandbox, logs string, err error) {
	t := e.lookup(id)
	if t == nil {
		return "", "", fmt.Errorf("task %q: %w", id, ErrUnknownTask)
	}
	return t.sandbox, t.metaDir, nil
}

// openIn opens name inside dir through an os.Root, without blocking on a
// FIFO or taking a terminal.
func openIn(dir, name string) (*os.File, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) {
			// os.Root's "path escapes from parent" and friends.
			return nil, fmt.Errorf("%w: %q: %w", ErrBadPath, name, err)
		}
		return nil, err
	}
	return f, nil
}

// resolve picks the directory a task's path is served from.
func (e *Executor) resolve(id, p string) (dir, name string, err error) {
	sandbox, logs, err := e.taskDirs(id)
	if err != nil {
		return "", "", err
	}
	name, err = localPath(p)
	if err != nil {
		return "", "", err
	}
	if logName.MatchString(name) {
		return logs, name, nil
	}
	return sandbox, name, nil
}

// ReadFile reads at most length bytes (DefaultReadLength when 0, capped at
// MaxReadLength) of a task's file from offset. A negative offset reads
// nothing and returns the size, where a tail starts; an offset past the
// end is moved back to it.
func (e *Executor) ReadFile(id, p string, offset, length int64) (FileChunk, error) {
	dir, name, err := e.resolve(id, p)
	if err != nil {
		return FileChunk{}, err
	}
	f, err := openIn(dir, name)
	if err != nil {
		return FileChunk{}, fmt.Errorf("task %q file %q: %w", id, name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return FileChunk{}, fmt.Errorf("task %q file %q: %w", id, name, err)
	}
	if !fi.Mode().IsRegular() {
		return FileChunk{}, fmt.Errorf("%w: %q is not a regular file", ErrBadPath, name)
	}
	size := fi.Size()
	out := FileChunk{Path: name, Offset: offset, Size: size}
	if offset < 0 || offset >= size {
		out.Offset = size
		return out, nil
	}
	if length <= 0 {
		length = DefaultReadLength
	}
	length = min(length, MaxReadLength, size-offset)
	buf := make([]byte, length)
	n, err := f.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return FileChunk{}, fmt.Errorf("task %q file %q: %w", id, name, err)
	}
	out.Data, out.Length = string(buf[:n]), int64(n)
	return out, nil
}

// ListFiles lists a directory of a task's sandbox, sorted by path; the
// top level also shows the task's logs.
func (e *Executor) ListFiles(id, p string) ([]FileEntry, error) {
	dir, name, err := e.resolve(id, p)
	if err != nil {
		return nil, err
	}
	out, err := listIn(dir, name, false, nil)
	if err != nil {
		return nil, fmt.Errorf("task %q directory %q: %w", id, name, err)
	}
	if name == "." {
		_, logs, _ := e.taskDirs(id)
		// Before the task starts there are no logs yet: no error.
		if out, err = listIn(logs, ".", true, out); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("task %q logs: %w", id, err)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// listIn appends the entries of name inside dir to out; with logsOnly
// (the logs over the sandbox's top level) only log names, replacing the
// sandbox's entries of the same name.
func listIn(dir, name string, logsOnly bool, out []FileEntry) ([]FileEntry, error) {
	f, err := openIn(dir, name)
	if err != nil {
		return out, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return out, err
	}
	if !fi.IsDir() {
		return out, fmt.Errorf("%w: %q is not a directory", ErrBadPath, name)
	}
	ents, err := f.ReadDir(maxListEntries)
	if err != nil && !errors.Is(err, io.EOF) {
		return out, err
	}
	for _, d := range ents {
		if logsOnly {
			if !logName.MatchString(d.Name()) {
				continue
			}
			out = deleteEntry(out, d.Name())
		}
		info, err := d.Info()
		if err != nil {
			continue // gone since the listing
		}
		p := d.Name()
		if name != "." {
			p = filepath.Join(name, p)
		}
		out = append(out, FileEntry{Path: p, Size: info.Size(), Mode: info.Mode().String(),
			ModTime: info.ModTime().UTC(), Dir: info.IsDir()})
	}
	if out == nil {
		out = []FileEntry{}
	}
	return out, nil
}

func deleteEntry(es []FileEntry, path string) []FileEntry {
	for i, e := range es {
		if e.Path == path {
			return append(es[:i], es[i+1:]...)
		}
	}
	return es
}
