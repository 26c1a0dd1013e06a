//go:build !linux

package sampler

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// procDir reads files below a directory during a scan. Outside Linux it
// simply opens paths: Proc is of little use there, but the package builds.
type procDir struct {
	dir  *os.File
	root string
}

func openProcDir(root string) (procDir, error) {
	d, err := os.Open(root)
	if err != nil {
		return procDir{}, err
	}
	return procDir{dir: d, root: root}, nil
}

func (d procDir) close() error { return d.dir.Close() }

// readFile reads the file at rel into *buf and returns the filled part.
// With grow, the buffer grows until the whole file fits; without, only the
// first len(*buf) bytes are read.
func (d procDir) readFile(rel string, buf *[]byte, grow bool) ([]byte, error) {
	f, err := os.Open(filepath.Join(d.root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
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
		m, err := f.Read((*buf)[n:])
		n += m
		if errors.Is(err, io.EOF) || (err == nil && m == 0) {
			return (*buf)[:n], nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// preadOnce reads from offset 0; a short read is the end of the file.
func preadOnce(f *os.File, b []byte) (int, error) {
	n, err := f.ReadAt(b, 0)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}
