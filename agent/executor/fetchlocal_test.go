package executor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/headroom-dev/headroom/api"
)

// Local artifacts come only from --fetch-allow-dir directories, links
// evaluated, and are read with the task's uid: /etc/shadow, a cluster
// token file, a link out of the allowed directory and a root-only file in
// it all fail the fetch, and nothing of them reaches the sandbox.
func TestFetchLocalOnlyFromAllowedDirsAsTheTask(t *testing.T) {
	allowed, outside := newWorkDir(t), newWorkDir(t)
	token := filepath.Join(outside, "cluster-token")
	secret := "tok-" + strings.Repeat("x", 20)
	if err := os.WriteFile(token, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(allowed, "ok.txt"), []byte("allowed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/shadow", filepath.Join(allowed, "shadow-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(token, filepath.Join(allowed, "token-link")); err != nil {
		t.Fatal(err)
	}
	// Inside the allowed dir, but only root may read it: the agent could,
	// the task's uid cannot, so it is not fetched.
	rootOnly := filepath.Join(allowed, "root-only")
	if err := os.WriteFile(rootOnly, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	hs := newHarness(t, false, allowFetch(allowed))

	for i, tc := range []struct {
		uri  string
		want string
	}{
		{"file:///etc/shadow", "fetch uri[0] file:///etc/shadow: not under any --fetch-allow-dir"},
		{"/etc/shadow", "fetch uri[0] /etc/shadow: not under any --fetch-allow-dir"},
		{"file://" + token, "not under any --fetch-allow-dir"},
		{"file://" + allowed + "/../" + filepath.Base(outside) + "/cluster-token", "not under any --fetch-allow-dir"},
		{"file://" + allowed + "/shadow-link", "resolves to /etc/shadow: not under any --fetch-allow-dir"},
		{allowed + "/token-link", "resolves to " + token + ": not under any --fetch-allow-dir"},
		{"file://" + rootOnly, "Permission denied"},
	} {
		id := "steal-" + string(rune('a'+i))
		ti := fetchTask(id, "cat * > /dev/null; echo ran", api.FetchURI{URI: tc.uri, OutputFile: "loot"})
		if err := hs.e.Launch(ti); err != nil {
			t.Fatal(err)
		}
		v := waitTerminal(t, hs.e, id)
		if v.Status.State != api.TaskFailed || v.Status.Reason != api.ReasonFetchFailed || !strings.Contains(v.Status.Message, tc.want) {
			t.Errorf("fetch %s: status %s/%s %q, want fetch_failed with %q", tc.uri, v.Status.State, v.Status.Reason, v.Status.Message, tc.want)
		}
		if _, err := os.Lstat(filepath.Join(v.Sandbox, "loot")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("fetch %s: the sandbox holds the artifact (%v)", tc.uri, err)
		}
		if strings.Contains(v.Status.Message, secret) {
			t.Errorf("fetch %s: the refusal leaks the secret", tc.uri)
		}
	}

	ti := fetchTask("fine", "cat ok.txt", api.FetchURI{URI: "file://" + allowed + "/ok.txt"})
	if err := hs.e.Launch(ti); err != nil {
		t.Fatal(err)
	}
	v := waitTerminal(t, hs.e, "fine")
	if v.Status.State != api.TaskFinished || readLog(t, v, "stdout") != "allowed\n" {
		t.Fatalf("an allowed file: %+v, stdout %q", v.Status, readLog(t, v, "stdout"))
	}
}

// Allowed directories must exist and be absolute.
func TestFetchAllowDirsValidated(t *testing.T) {
	h := hostHierarchy(t)
	for _, d := range []string{"relative/dir", filepath.Join(t.TempDir(), "missing")} {
		cfg := testConfig(h, newParent(t, h), newWorkDir(t))
		cfg.FetchAllowDirs = []string{d}
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), d) {
			t.Errorf("allow dir %q: err = %v, want a refusal naming it", d, err)
		}
	}
}
