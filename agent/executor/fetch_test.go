package executor

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/headroom-dev/headroom/api"
)

// serve answers each path with the given bytes.
func serve(t *testing.T, files map[string][]byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

type entry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func makeTar(t *testing.T, gz bool, entries []entry) []byte {
	var buf bytes.Buffer
	var tw *tar.Writer
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		tw = tar.NewWriter(zw)
	} else {
		tw = tar.NewWriter(&buf)
	}
	for _, e := range entries {
		typ, mode := e.typ, e.mode
		if typ == 0 {
			typ = tar.TypeReg
		}
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Mode: mode, Linkname: e.link}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func fetchTask(id, cmd string, f ...api.FetchURI) api.TaskInfo {
	ti := newInfo(id, cmd)
	ti.Fetch = f
	return ti
}

func TestFetchExecutableWithSHA256(t *testing.T) {
	script := []byte("#!/bin/sh\necho fetched \"$1\"\n")
	srv := serve(t, map[string][]byte{"/bin/run.sh": script})
	hs := newHarness(t, false, nil)
	ti := fetchTask("f", "./run.sh arg", api.FetchURI{URI: srv.URL + "/bin/run.sh", SHA256: strings.ToUpper(sha(script)), Executable: true})
	if err := hs.e.Launch(ti); err != nil {
		t.Fatal(err)
	}
	v := waitTerminal(t, hs.e, "f")
	if v.Status.State != api.TaskFinished {
		t.Fatalf("status = %+v, stderr %q", v.Status, readLog(t, v, "stderr"))
	}
	if got := readLog(t, v, "stdout"); got != "fetched arg\n" {
		t.Fatalf("stdout = %q", got)
	}
	fi, err := os.Stat(filepath.Join(v.Sandbox, "run.sh"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("run.sh: %v %v", fi, err)
	}
}

func TestFetchFailures(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 8192)
	evil := makeTar(t, true, []entry{{name: "ok.txt", body: "fine"}, {name: "../evil", body: "pwned"}})
	abs := makeTar(t, false, []entry{{name: "/tmp/headroom-evil-abs", body: "pwned"}})
	link := makeTar(t, false, []entry{{name: "l", typ: tar.TypeSymlink, link: "../../.."}})
	linkThrough := makeTar(t, false, []entry{
		{name: "d", typ: tar.TypeSymlink, link: "/etc"},
		{name: "d/evil", body: "pwned"},
	})
	bomb := makeTar(t, true, []entry{{name: "zeros", body: strings.Repeat("\x00", 100000)}})
	srv := serve(t, map[string][]byte{
		"/bomb.tgz": bomb,
		"/file":     []byte("content"),
		"/big":      big,
		"/evil.tgz": evil,
		"/abs.tar":  abs,
		"/link.tar": link,
		"/thru.tar": linkThrough,
	})
	hs := newHarness(t, false, func(c *Config) { c.FetchMaxBytes = 3000 })
	cases := []struct {
		id   string
		f    api.FetchURI
		want []string
	}{
		{"badsha", api.FetchURI{URI: srv.URL + "/file", SHA256: strings.Repeat("0", 64)}, []string{srv.URL + "/file", strings.Repeat("0", 64), sha([]byte("content"))}},
		{"toobig", api.FetchURI{URI: srv.URL + "/big"}, []string{srv.URL + "/big", "3000"}},
		{"missing", api.FetchURI{URI: srv.URL + "/nope"}, []string{srv.URL + "/nope", "404"}},
		{"tgz", api.FetchURI{URI: srv.URL + "/evil.tgz", Extract: true}, []string{srv.URL + "/evil.tgz", "../evil"}},
		{"abs", api.FetchURI{URI: srv.URL + "/abs.tar", Extract: true}, []string{"absolute"}},
		{"link", api.FetchURI{URI: srv.URL + "/link.tar", Extract: true}, []string{"outside"}},
		{"bomb", api.FetchURI{URI: srv.URL + "/bomb.tgz", Extract: true}, []string{srv.URL + "/bomb.tgz", "size limit"}},
		{"thru", api.FetchURI{URI: srv.URL + "/thru.tar", Extract: true}, []string{"outside"}},
	}
	for _, c := range cases {
		if err := hs.e.Launch(fetchTask(c.id, "true", c.f)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cases {
		v := waitTerminal(t, hs.e, c.id)
		if v.Status.State != api.TaskFailed || v.Status.Reason != api.ReasonFetchFailed {
			t.Errorf("%s: status = %+v, want failed/fetch_failed", c.id, v.Status)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(v.Status.Message, w) {
				t.Errorf("%s: message %q does not name %q", c.id, v.Status.Message, w)
			}
		}
	}
	for _, p := range []string{
		filepath.Join(hs.work, "sandboxes", "evil"),
		"/tmp/headroom-evil-abs",
		"/etc/evil",
	} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists outside the sandbox (%v)", p, err)
		}
	}
}

func TestFetchZipAndLocalFile(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("dir/a.txt")
	_, _ = w.Write([]byte("from zip\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	srv := serve(t, map[string][]byte{"/pkg.zip": buf.Bytes()})
	dir := newWorkDir(t)
	local := filepath.Join(dir, "local.txt")
	if err := os.WriteFile(local, []byte("local\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hs := newHarness(t, false, allowFetch(dir))
	ti := fetchTask("z", "cat dir/a.txt local.txt copy.txt",
		api.FetchURI{URI: srv.URL + "/pkg.zip", Extract: true},
		api.FetchURI{URI: "file://" + local},
		api.FetchURI{URI: local, OutputFile: "copy.txt"})
	if err := hs.e.Launch(ti); err != nil {
		t.Fatal(err)
	}
	v := waitTerminal(t, hs.e, "z")
	if v.Status.State != api.TaskFinished {
		t.Fatalf("status = %+v, stderr %q", v.Status, readLog(t, v, "stderr"))
	}
	if got := readLog(t, v, "stdout"); got != "from zip\nlocal\nlocal\n" {
		t.Fatalf("stdout = %q", got)
	}
}

// goTool finds the go command the tests run under.
func goTool(t *testing.T) string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

func TestChrootRootfs(t *testing.T) {
	src := newWorkDir(t)
	hs := newHarness(t, false, allowFetch(src))
	prog := "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"inside\") }\n"
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module hello\n\ngo 1.21\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(src, "hello")
	cmd := exec.Command(goTool(t), "build", "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(src, "rootfs.tar")
	tb := makeTar(t, false, []entry{
		{name: "rootfs/", typ: tar.TypeDir, mode: 0o755},
		{name: "rootfs/hello", body: string(exe), mode: 0o755},
	})
	if err := os.WriteFile(archive, tb, 0o644); err != nil {
		t.Fatal(err)
	}
	ti := newInfo("chroot", "")
	ti.Cmd, ti.Args = "", []string{"/hello"}
	ti.Rootfs = "rootfs"
	ti.Fetch = []api.FetchURI{{URI: "file://" + archive, Extract: true}}
	if err := hs.e.Launch(ti); err != nil {
		t.Fatal(err)
	}
	v := waitTerminal(t, hs.e, "chroot")
	if v.Status.State != api.TaskFinished {
		t.Fatalf("status = %+v, stderr %q", v.Status, readLog(t, v, "stderr"))
	}
	if got := readLog(t, v, "stdout"); got != "inside\n" {
		t.Fatalf("stdout = %q", got)
	}

	// A rootfs that is missing fails the task before it starts.
	bad := newInfo("noroot", "true")
	bad.Rootfs = "nope"
	if err := hs.e.Launch(bad); err != nil {
		t.Fatal(err)
	}
	v = waitTerminal(t, hs.e, "noroot")
	if v.Status.State != api.TaskFailed || !strings.Contains(v.Status.Message, "nope") {
		t.Fatalf("status = %+v", v.Status)
	}
}
