package executor

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/headroom-dev/headroom/api"
)

// extractRatio bounds what archives may unpack to, relative to
// FetchMaxBytes, when the task sets no disk limit: a small archive must
// not be able to fill the host's disk (a "zip bomb").
const extractRatio = 8

// maxLinkTarget bounds a zip symlink entry, whose content is its target.
const maxLinkTarget = 4096

// fetchAll fetches every artifact of info into sandbox. All writes go
// through an os.Root of the sandbox, so no file name, symlink or hard
// link in an artifact can make us write outside it.
func (e *Executor) fetchAll(ctx context.Context, info api.TaskInfo, sandbox string, cred *syscall.Credential) error {
	if len(info.Fetch) == 0 {
		return nil
	}
	root, err := os.OpenRoot(sandbox)
	if err != nil {
		return fmt.Errorf("task %q: fetch: sandbox %s: %w", info.ID, sandbox, err)
	}
	defer root.Close()
	budget := e.cfg.FetchMaxBytes * extractRatio
	if d := info.Resources.Disk; d > 0 && d < budget {
		budget = d
	}
	for i, f := range info.Fetch {
		if err := e.fetchOne(ctx, root, f, &budget, cred); err != nil {
			return fmt.Errorf("task %q: fetch uri[%d] %s: %w", info.ID, i, f.URI, err)
		}
	}
	return nil
}

// fetchOne downloads or copies one artifact, checks its size and hash,
// then makes it executable and/or extracts it as asked.
func (e *Executor) fetchOne(ctx context.Context, root *os.Root, f api.FetchURI, budget *int64, cred *syscall.Credential) error {
	base, err := uriBase(f.URI)
	if err != nil {
		return err
	}
	name := f.OutputFile
	if name == "" {
		name = base
	}
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("cannot derive a file name (got %q); set output_file", name)
	}
	src, err := e.openURI(ctx, f.URI, cred)
	if err != nil {
		return err
	}
	defer src.Close()

	out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	h := sha256.New()
	limit := e.cfg.FetchMaxBytes
	n, cerr := io.Copy(io.MultiWriter(out, h), io.LimitReader(src, limit+1))
	if err := out.Close(); cerr == nil {
		cerr = err
	}
	if cerr == nil && n > limit {
		cerr = fmt.Errorf("artifact larger than the %d-byte fetch limit", limit)
	}
	if cerr == nil && f.SHA256 != "" {
		if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, f.SHA256) {
			cerr = fmt.Errorf("sha256 mismatch: expected %s, got %s", strings.ToLower(f.SHA256), got)
		}
	}
	if cerr != nil {
		_ = root.Remove(name)
		return cerr
	}
	if f.Executable {
		if err := root.Chmod(name, 0o755); err != nil {
			return err
		}
	}
	if f.Extract {
		kind := archiveKind(name)
		if kind == "" {
			kind = archiveKind(base)
		}
		if err := extract(root, name, kind, budget); err != nil {
			return fmt.Errorf("extract %s: %w", name, err)
		}
		if err := checkLinks(root); err != nil {
			return fmt.Errorf("extract %s: %w", name, err)
		}
	}
	return nil
}

// uriBase is the last path element of an absolute path or URL.
func uriBase(uri string) (string, error) {
	if strings.HasPrefix(uri, "/") {
		return filepath.Base(uri), nil
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "", err
	}
	if u.Path == "" || strings.HasSuffix(u.Path, "/") {
		return "", nil
	}
	return path.Base(u.Path), nil
}

// openURI opens the artifact: http(s) with the configured client, file://
// and absolute paths as local files under an allowed directory, read with
// the task's credentials (openLocal).
func (e *Executor) openURI(ctx context.Context, uri string, cred *syscall.Credential) (io.ReadCloser, error) {
	if strings.HasPrefix(uri, "/") {
		return e.openLocal(ctx, uri, cred)
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("file URI with remote host %q", u.Host)
		}
		return e.openLocal(ctx, u.Path, cred)
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
		if err != nil {
			return nil, err
		}
		resp, err := e.cfg.HTTPClient.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("HTTP status %s", resp.Status)
		}
		return resp.Body, nil
	}
	return nil, fmt.Errorf("unsupported scheme %q", u.Scheme)
}

func archiveKind(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".tar.gz"), strings.HasSuffix(n, ".tgz"):
		return "tgz"
	case strings.HasSuffix(n, ".tar"):
		return "tar"
	case strings.HasSuffix(n, ".zip"):
		return "zip"
	}
	return ""
}

// extract unpacks the archive file name (inside root) into root.
func extract(root *os.Root, name, kind string, budget *int64) error {
	f, err := root.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	switch kind {
	case "tar":
		return extractTar(root, f, budget)
	case "tgz":
		zr, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		defer zr.Close()
		return extractTar(root, zr, budget)
	case "zip":
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		zr, err := zip.NewReader(f, fi.Size())
		if err != nil {
			return err
		}
		return extractZip(root, zr, budget)
	}
	return errors.New("unknown archive type (want .tar, .tar.gz, .tgz or .zip)")
}

func extractTar(root *os.Root, r io.Reader, budget *int64) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return err
		}
		if name == "." {
			continue
		}
		mode := fs.FileMode(hdr.Mode).Perm()
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = root.MkdirAll(name, mode|0o700)
		case tar.TypeReg, tar.TypeRegA:
			err = writeEntry(root, name, tr, mode, budget)
		case tar.TypeSymlink:
			err = writeSymlink(root, name, hdr.Linkname)
		case tar.TypeLink:
			var target string
			if target, err = entryName(hdr.Linkname); err == nil {
				if err = mkParent(root, name); err == nil {
					_ = root.Remove(name)
					err = root.Link(target, name)
				}
			}
		default:
			// Devices, FIFOs and the like have no place in a batch
			// artifact and would need privileges; they are skipped.
		}
		if err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
}

func extractZip(root *os.Root, zr *zip.Reader, budget *int64) error {
	for _, zf := range zr.File {
		name, err := entryName(zf.Name)
		if err != nil {
			return err
		}
		if name == "." {
			continue
		}
		mode := zf.Mode()
		err = func() error {
			if mode.IsDir() {
				return root.MkdirAll(name, mode.Perm()|0o700)
			}
			rc, err := zf.Open()
			if err != nil {
				return err
			}
			defer rc.Close()
			if mode&fs.ModeSymlink != 0 {
				b, err := io.ReadAll(io.LimitReader(rc, maxLinkTarget))
				if err != nil {
					return err
				}
				return writeSymlink(root, name, string(b))
			}
			return writeEntry(root, name, rc, mode.Perm(), budget)
		}()
		if err != nil {
			return fmt.Errorf("entry %q: %w", zf.Name, err)
		}
	}
	return nil
}

// entryName validates an archive member name and returns it cleaned and
// relative; absolute names and any ".." element are rejected outright
// rather than sanitised, because such an archive is broken or hostile.
func entryName(n string) (string, error) {
	if n == "" || strings.ContainsRune(n, 0) {
		return "", fmt.Errorf("invalid entry name %q", n)
	}
	if strings.HasPrefix(n, "/") {
		return "", fmt.Errorf("entry %q: absolute path", n)
	}
	for _, el := range strings.Split(n, "/") {
		if el == ".." {
			return "", fmt.Errorf("entry %q: path escapes the sandbox", n)
		}
	}
	return path.Clean(n), nil
}

func mkParent(root *os.Root, name string) error {
	if d := path.Dir(name); d != "." {
		return root.MkdirAll(d, 0o755)
	}
	return nil
}

// writeSymlink creates a symlink and refuses it if it leads out of the
// sandbox now. Where it leads also depends on entries still to come, so
// checkLinks judges every link again once the archive is unpacked.
func writeSymlink(root *os.Root, name, target string) error {
	if target == "" || strings.HasPrefix(target, "/") {
		return fmt.Errorf("symlink %q -> %q points outside the sandbox", name, target)
	}
	if err := mkParent(root, name); err != nil {
		return err
	}
	_ = root.Remove(name)
	if err := root.Symlink(target, name); err != nil {
		return err
	}
	// Followed on the disk as it is now, so an archive that fails later
	// leaves no way out either; checkLinks sees what later entries change.
	if err := resolveInside(root, name); err != nil {
		_ = root.Remove(name)
		return fmt.Errorf("symlink %q -> %q: %w", name, target, err)
	}
	return nil
}

// maxLinkHops is the kernel's limit on symlinks followed in one lookup.
const maxLinkHops = 40

// checkLinks walks the sandbox after an extraction and refuses (and
// removes) any
// symlink that, followed the way the kernel would with every link read
// back from the disk (chains included), leads out of the sandbox: the
// task, a chroot or a later agent step could otherwise follow it out.
func checkLinks(root *os.Root) error {
	var (
		errs []error
		bad  []string
	)
	err := fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		if err := resolveInside(root, p); err != nil {
			target, _ := root.Readlink(p)
			errs = append(errs, fmt.Errorf("symlink %q -> %q: %w", p, target, err))
			bad = append(bad, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Removed as well as refused: the failed task's sandbox stays until
	// Forget and must hold no way out meanwhile. Only after the walk, as
	// removing one link can change where another leads.
	for _, p := range bad {
		if err := root.Remove(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

var errLinkEscapes = errors.New("resolves outside the sandbox")

// resolveInside follows name component by component inside root, reading
// each symlink it meets and splicing its target in, and fails as soon as
// the path would climb above root or a target is absolute. What does not
// exist yet is resolved lexically, which is stricter than the kernel (it
// would stop there).
func resolveInside(root *os.Root, name string) error {
	var cur []string
	pending := strings.Split(name, "/")
	for hops := 0; len(pending) > 0; {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return errLinkEscapes
			}
			cur = cur[:len(cur)-1]
			continue
		}
		p := path.Join(append(cur, c)...)
		fi, err := root.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			cur = append(cur, c)
			continue
		case err != nil:
			return err
		case fi.Mode()&fs.ModeSymlink == 0:
			cur = append(cur, c)
			continue
		}
		if hops++; hops > maxLinkHops {
			return errors.New("too many levels of symbolic links")
		}
		target, err := root.Readlink(p)
		if err != nil {
			return err
		}
		if target == "" || strings.HasPrefix(target, "/") {
			return errLinkEscapes
		}
		pending = append(strings.Split(target, "/"), pending...)
	}
	return nil
}

// writeEntry writes one regular file, charging its size to budget.
func writeEntry(root *os.Root, name string, r io.Reader, mode fs.FileMode, budget *int64) error {
	if err := mkParent(root, name); err != nil {
		return err
	}
	// Remove first so an earlier symlink of the same name is replaced,
	// not written through.
	_ = root.Remove(name)
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	n, cerr := io.Copy(f, io.LimitReader(r, *budget+1))
	if err := f.Close(); cerr == nil {
		cerr = err
	}
	*budget -= n
	if cerr != nil {
		return cerr
	}
	if *budget < 0 {
		return errors.New("extracted contents exceed the size limit")
	}
	// The umask may have narrowed the mode; archives carry intended modes.
	return root.Chmod(name, mode)
}
