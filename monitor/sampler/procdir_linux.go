//go:build linux

package sampler

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// procDir reads files below a directory (the procfs root) during a scan.
//
// On Linux it opens them with openat(2) relative to the directory's own
// descriptor and reads them with plain read(2): the path walk from / to
// ProcRoot is not repeated for every pid, and there is no *os.File, so no
// poller registration, no fcntl and no finalizer. That halves the cost per
// file, and a scan is nothing but opening small files.
type procDir struct {
	dir *os.File
	fd  int
}

func openProcDir(root string) (procDir, error) {
	d, err := os.Open(root)
	if err != nil {
		return procDir{}, err
	}
	// Fd puts the descriptor in blocking mode; it is a directory, the
	// runtime poller never handles it anyway.
	return procDir{dir: d, fd: int(d.Fd())}, nil
}

func (d procDir) close() error { return d.dir.Close() }

// readFile reads the file at rel (relative to the directory) into *buf and
// returns the filled part. With grow, the buffer grows until the whole file
// fits; without, only the first len(*buf) bytes are read.
func (d procDir) readFile(rel string, buf *[]byte, grow bool) ([]byte, error) {
	fd, err := openatRetry(d.fd, rel)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	n := 0
	for {
		if n == len(*buf) {
			if !grow {
				return *buf, nil
			}
			if n >= maxReadSize {
				return nil, fmt.Errorf("larger than %d bytes", maxReadSize)
			}
			nb := make([]byte, 2*len(*buf))
			copy(nb, *buf)
			*buf = nb
		}
		m, err := unix.Read(fd, (*buf)[n:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		n += m
		// A read that does not fill the buffer is the end of the file:
		// procfs returns a whole single_open file (stat, cmdline) in one
		// read when it fits, and so does a small regular file. Not
		// asking again for the 0-byte EOF saves a syscall per file.
		if m == 0 || n < len(*buf) {
			return (*buf)[:n], nil
		}
	}
}

// preadOnce reads from offset 0 with a single pread(2). os.File.ReadAt
// would loop until the buffer is full, i.e. always call pread twice.
func preadOnce(f *os.File, b []byte) (int, error) {
	for {
		n, err := unix.Pread(int(f.Fd()), b, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return n, err
	}
}

func openatRetry(dirfd int, rel string) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, rel, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return fd, err
	}
}
