package executor

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/testutil"
)

func TestLogRotation(t *testing.T) {
	const max = 64 << 10
	hs := newHarness(t, false, func(c *Config) { c.LogMaxBytes = max; c.LogMaxFiles = 2 })
	// 20 bursts of 16 KiB, then a pause so the last check sees the end.
	cmd := `for i in $(seq 1 20); do head -c 16384 /dev/zero | tr '\0' x; sleep 0.05; done; sleep 0.5`
	if err := hs.e.Launch(newInfo("logs", cmd)); err != nil {
		t.Fatal(err)
	}
	v := waitFor(t, hs.e, "logs", api.TaskRunning)
	testutil.Eventually(t, waitLong, 20*time.Millisecond, func() bool {
		_, err := os.Stat(filepath.Join(v.LogDir, "stdout.1"))
		return err == nil
	}, "stdout.1 appears")
	v = waitTerminal(t, hs.e, "logs")
	if v.Status.State != api.TaskFinished {
		t.Fatalf("status = %+v", v.Status)
	}
	fi, err := os.Stat(filepath.Join(v.LogDir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > max {
		t.Errorf("stdout is %d bytes, above the %d rotation size", fi.Size(), max)
	}
	if _, err := os.Stat(filepath.Join(v.LogDir, "stdout.3")); !os.IsNotExist(err) {
		t.Errorf("stdout.3 exists with LogMaxFiles 2 (%v)", err)
	}
	b, err := os.ReadFile(filepath.Join(v.LogDir, "stdout.1"))
	if err != nil || len(b) == 0 || strings.Trim(string(b), "x") != "" {
		t.Errorf("stdout.1: %d bytes, %v", len(b), err)
	}
}

func TestRotateUnit(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "stdout")
	for i, body := range []string{"aaaa", "bbbb", "cccc"} {
		if err := os.WriteFile(p, []byte(body), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := rotate(p, 3, 2); err != nil {
			t.Fatalf("rotate %d: %v", i, err)
		}
	}
	for name, want := range map[string]string{"stdout": "", "stdout.1": "cccc", "stdout.2": "bbbb"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "stdout.3")); !os.IsNotExist(err) {
		t.Errorf("stdout.3 kept: %v", err)
	}
	// Below the size nothing happens.
	if err := os.WriteFile(p, []byte("ab"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := rotate(p, 3, 2); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "ab" {
		t.Errorf("small file rotated: %q", b)
	}
}

func TestDiskLimit(t *testing.T) {
	hs := newHarness(t, false, nil)
	ti := newInfo("disk", "head -c 4000000 /dev/zero > big; sleep 60")
	ti.Resources.Disk = 1 << 20
	ti.KillGracePeriodSeconds = 1
	if err := hs.e.Launch(ti); err != nil {
		t.Fatal(err)
	}
	v := waitTerminal(t, hs.e, "disk")
	if v.Status.State != api.TaskFailed || v.Status.Reason != api.ReasonDiskLimit {
		t.Fatalf("status = %+v", v.Status)
	}
	if v.DiskBytes <= 1<<20 {
		t.Errorf("DiskBytes = %d", v.DiskBytes)
	}
	cgroupGone(t, hs.h, hs.parent+"/disk")
}

func TestKillAllAndKillWhileFetching(t *testing.T) {
	hit := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case hit <- struct{}{}:
		default:
		}
		<-r.Context().Done() // never answers: the fetch hangs until cancelled
	}))
	t.Cleanup(srv.Close)
	hs := newHarness(t, false, nil)
	if err := hs.e.Launch(fetchTask("slow", "true", api.FetchURI{URI: srv.URL + "/slow"})); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if err := hs.e.Launch(newInfo(id, "sleep 60")); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-hit:
	case <-time.After(waitLong):
		t.Fatal("fetch never started")
	}
	waitFor(t, hs.e, "a", api.TaskRunning)
	waitFor(t, hs.e, "b", api.TaskRunning)
	if v, _ := hs.e.Task("slow"); v.Status.State != api.TaskStaging {
		t.Fatalf("slow: %+v", v.Status)
	}
	if err := hs.e.KillAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, v := range hs.e.Tasks() {
		if v.Status.State != api.TaskKilled || v.Status.Reason != api.ReasonExecutorTerminate {
			t.Errorf("%s: %+v", v.Info.ID, v.Status)
		}
	}
	for _, id := range []string{"a", "b", "slow"} {
		cgroupGone(t, hs.h, hs.parent+"/"+id)
	}
}
