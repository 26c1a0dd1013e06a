package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/headroom-dev/headroom/internal/testutil"
)

// TestCLIWorkDirNotTraversable: an agent whose work dir sits below a
// directory others cannot enter says which one, the command that fixes
// it, and the other ways out.
func TestCLIWorkDirNotTraversable(t *testing.T) {
	testutil.NeedRoot(t)
	root := t.TempDir()
	private := filepath.Join(root, "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(private, 0o700); err != nil { // whatever the umask
		t.Fatal(err)
	}
	cg := fmt.Sprintf("headroom-test-traverse-%d/batch", os.Getpid())
	golden(t, "work-dir-not-traversable", cliTranscript(t, map[string]string{root: "$DIR", cg: "$CGROUP"},
		"agent", "--listen", "127.0.0.1:0", "--work-dir", filepath.Join(private, "agent"), "--batch-cgroup", cg))
	for _, ctrl := range []string{"cpu", "memory", ""} {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", ctrl, filepath.Dir(cg))); err == nil {
			t.Errorf("cgroup %s created by an agent that refused to start", filepath.Join(ctrl, cg))
		}
	}
}
