package main

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/internal/testutil"
)

// lockedBuffer collects a process's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func build(t *testing.T, pkg, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start runs bin and stops it (SIGKILL) at cleanup if the test did not.
func start(t *testing.T, bin string, args ...string) (*exec.Cmd, *lockedBuffer, chan error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out := &lockedBuffer{}
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}
		if t.Failed() {
			t.Logf("%s stderr:\n%s", filepath.Base(bin), out.String())
		}
	})
	return cmd, out, exited
}

// TestWaitsAloudAndStopsCleanly: with no agent, the queue says it waits
// for offers and why; SIGTERM stops it with status 0.
func TestWaitsAloudAndStopsCleanly(t *testing.T) {
	waitsAloud(t, false)
}

// TestWaitsAloudWithCredentials: the same with the master's generated
// credentials, the queue holding only the framework's, as in the README's
// quick tour: the master's reason reaches it, not a 403.
func TestWaitsAloudWithCredentials(t *testing.T) {
	waitsAloud(t, true)
}

func waitsAloud(t *testing.T, credentials bool) {
	headroom := build(t, "../../cmd/headroom", "headroom")
	queue := build(t, ".", "batchqueue")
	addr := freeAddr(t)
	data := t.TempDir()
	masterArgs := []string{"master", "--listen", addr, "--data-dir", data, "--election-ttl", "2s"}
	queueArgs := []string{"--master", "http://" + addr, "--count", "2", "--command", "true", "--progress", "200ms"}
	if credentials {
		queueArgs = append(queueArgs, "--token-file", filepath.Join(data, "credentials", "framework.token"))
	} else {
		masterArgs = append(masterArgs, "--insecure")
	}
	start(t, headroom, masterArgs...)
	testutil.Eventually(t, 60*time.Second, 100*time.Millisecond, func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "master serving")

	cmd, out, exited := start(t, queue, queueArgs...)
	testutil.Eventually(t, 60*time.Second, 100*time.Millisecond, func() bool {
		// The master's own reason for the framework ("no agent
		// registered"), or the queue's reading of its state.
		return strings.Contains(out.String(), `msg="waiting for offers" pending=2`) &&
			(strings.Contains(out.String(), `why="no agent registered"`) || strings.Contains(out.String(), `why="the master has no active agent"`))
	}, "the queue saying it waits for offers, and why")
	if strings.Contains(out.String(), "cannot ask the master") {
		t.Fatalf("the queue could not read why it waits:\n%s", out.String())
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the queue ignored SIGTERM")
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit status %d after SIGTERM, want 0", code)
	}
	if !strings.Contains(out.String(), "stopped by signal") || strings.Contains(out.String(), "level=ERROR") {
		t.Fatalf("stderr after SIGTERM:\n%s", out.String())
	}
}
