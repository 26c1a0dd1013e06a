package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/headroom-dev/headroom/internal/testutil"
)

// dialEnv, when set, makes TestEtcdDialHelper the attacker: a process of
// another user writing to the etcd named by its value.
const dialEnv = "HEADROOM_TEST_ETCD_DIAL"

// TestEtcdDialHelper is the child process of TestEmbeddedEtcdRefusesOtherUsers;
// it does nothing in a normal run.
func TestEtcdDialHelper(t *testing.T) {
	ep := os.Getenv(dialEnv)
	if ep == "" {
		t.Skip("helper process only")
	}
	c, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(ep, ","), DialTimeout: 3 * time.Second})
	if err != nil {
		fmt.Println("dial:", err)
		os.Exit(3)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := c.Put(ctx, "/headroom/agents/hijacked", `{"credential":"attacker"}`); err != nil {
		fmt.Println("put:", err)
		os.Exit(3)
	}
	fmt.Println("PUT OK")
	os.Exit(0)
}

// TestEmbeddedEtcdRefusesOtherUsers: the embedded etcd has no
// authentication, so a process of any other user of the host (a task on an
// agent sharing the master's host) must not be able to reach it at all.
// Run as root, it copies the test binary where nobody can run it and runs
// it as nobody against the store's endpoints: the write must fail and
// leave nothing behind, while the store itself keeps working.
func TestEmbeddedEtcdRefusesOtherUsers(t *testing.T) {
	testutil.NeedRoot(t)
	s := openEmbedded(t, "")
	ctx := testCtx(t)

	bin := copyExecutable(t)
	cmd := exec.CommandContext(ctx, bin, "-test.run=^TestEtcdDialHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), dialEnv+"="+strings.Join(s.Endpoints(), ","))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if strings.Contains(string(out), "PUT OK") {
		t.Fatalf("a process of uid 65534 wrote to the embedded etcd at %v:\n%s", s.Endpoints(), out)
	}
	if err == nil {
		t.Fatalf("the helper as uid 65534 exited 0 without writing:\n%s", out)
	}
	raw, err := s.Client().Get(ctx, "/headroom/agents/hijacked")
	if err != nil || len(raw.Kvs) != 0 {
		t.Fatalf("after the attempt: %v, %v; want no key", raw, err)
	}
	if err := s.Put(ctx, "agents", "a1", doc{Name: "one"}); err != nil {
		t.Fatalf("the master's own store after the attempt: %v", err)
	}
}

// TestEmbeddedEtcdDeepDataDir: a data dir too deep for a unix socket path
// still starts, with the socket in a private directory of its own that
// Close removes.
func TestEmbeddedEtcdDeepDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
	s, err := Open(testCtx(t), Config{DataDir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatalf("Open with a deep data dir: %v", err)
	}
	eps := s.Endpoints()
	if len(eps) != 1 || !strings.HasPrefix(eps[0], "unix://") {
		_ = s.Close()
		t.Fatalf("Endpoints() = %v, want one unix socket", eps)
	}
	sockDir := filepath.Dir(strings.TrimPrefix(eps[0], "unix://"))
	fi, err := os.Stat(sockDir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		_ = s.Close()
		t.Fatalf("socket dir %s: %v, %v; want mode 0700", sockDir, fi, err)
	}
	if err := s.Put(testCtx(t), "agents", "a1", doc{Name: "one"}); err != nil {
		_ = s.Close()
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sockDir); !os.IsNotExist(err) {
		t.Fatalf("socket dir %s after Close: %v, want it removed", sockDir, err)
	}
}

// copyExecutable copies the running test binary into a directory every
// user may enter, so it can be run as another user.
func copyExecutable(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "headroom-store-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bin := filepath.Join(dir, "store.test")
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		_ = dst.Close()
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}
