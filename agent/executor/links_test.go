package executor

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/headroom-dev/headroom/api"
)

func makeZip(t *testing.T, links map[string]string, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, target := range links {
		h := &zip.FileHeader{Name: name, Method: zip.Store}
		h.SetMode(os.ModeSymlink | 0o777)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(target))
	}
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// noLinkOut fails if any symlink of the sandbox resolves, for the kernel,
// outside it.
func noLinkOut(t *testing.T, sandbox string) {
	t.Helper()
	_ = filepath.WalkDir(sandbox, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.Type()&os.ModeSymlink == 0 {
			return nil
		}
		if r, err := filepath.EvalSymlinks(p); err == nil && r != sandbox && !strings.HasPrefix(r, sandbox+"/") {
			t.Errorf("symlink %s resolves to %s, outside the sandbox", p, r)
		}
		return nil
	})
}

// Chains of symlinks that each look harmless on their own (every target
// relative and lexically inside) but lead out once followed are refused
// and removed, in tar and zip archives alike; a chain that stays inside
// is kept.
func TestArchiveSymlinkChainsResolvedInsideTheSandbox(t *testing.T) {
	// a/up -> ".." is the sandbox; a/out -> "up/.." is then its parent,
	// though "a/up/.." cleans to "a".
	chainTar := makeTar(t, false, []entry{
		{name: "a/", typ: tar.TypeDir, mode: 0o755},
		{name: "a/up", typ: tar.TypeSymlink, link: ".."},
		{name: "a/out", typ: tar.TypeSymlink, link: "up/../tmp"},
	})
	// s -> "." twice over, then two ".." climb out: "s/s/../.." cleans
	// to ".".
	chainZip := makeZip(t, map[string]string{"s": ".", "l": "s/s/../../sandboxes"}, nil)
	// e -> "d/.." is inside while d is absent; the later d -> "." makes
	// it the sandbox's parent.
	lateTar := makeTar(t, false, []entry{
		{name: "e", typ: tar.TypeSymlink, link: "d/.."},
		{name: "d", typ: tar.TypeSymlink, link: "."},
	})
	inside := makeTar(t, false, []entry{
		{name: "b/", typ: tar.TypeDir, mode: 0o755},
		{name: "b/f", body: "inside\n"},
		{name: "b/self", typ: tar.TypeSymlink, link: "."},
		{name: "b/ok", typ: tar.TypeSymlink, link: "self/../b/f"},
	})
	srv := serve(t, map[string][]byte{"/chain.tar": chainTar, "/chain.zip": chainZip, "/late.tar": lateTar, "/inside.tar": inside})
	hs := newHarness(t, false, nil)

	for _, tc := range []struct{ id, uri, link string }{
		{"chain-tar", "/chain.tar", "a/out"},
		{"chain-zip", "/chain.zip", "l"},
		{"late-tar", "/late.tar", "e"},
	} {
		if err := hs.e.Launch(fetchTask(tc.id, "echo ran", api.FetchURI{URI: srv.URL + tc.uri, Extract: true})); err != nil {
			t.Fatal(err)
		}
		v := waitTerminal(t, hs.e, tc.id)
		if v.Status.State != api.TaskFailed || v.Status.Reason != api.ReasonFetchFailed ||
			!strings.Contains(v.Status.Message, "resolves outside the sandbox") {
			t.Errorf("%s: %s/%s %q, want fetch_failed: resolves outside the sandbox", tc.id, v.Status.State, v.Status.Reason, v.Status.Message)
		}
		if _, err := os.Lstat(filepath.Join(v.Sandbox, tc.link)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the escaping link %s is still there (%v)", tc.id, tc.link, err)
		}
		noLinkOut(t, v.Sandbox)
	}

	if err := hs.e.Launch(fetchTask("inside", "cat b/ok", api.FetchURI{URI: srv.URL + "/inside.tar", Extract: true})); err != nil {
		t.Fatal(err)
	}
	v := waitTerminal(t, hs.e, "inside")
	if v.Status.State != api.TaskFinished || readLog(t, v, "stdout") != "inside\n" {
		t.Fatalf("a chain that stays inside: %+v, stdout %q", v.Status, readLog(t, v, "stdout"))
	}
}
