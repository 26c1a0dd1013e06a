package executor

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// filesExecutor is an executor that knows one task "t" whose sandbox and
// log directory are temp dirs, with a few files and hostile links.
func filesExecutor(t *testing.T) (*Executor, string) {
	t.Helper()
	base := t.TempDir()
	sandbox, logs := filepath.Join(base, "sandbox"), filepath.Join(base, "meta")
	outside := filepath.Join(base, "secret")
	for _, d := range []string{sandbox, logs, filepath.Join(sandbox, "sub")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		filepath.Join(sandbox, "hello.txt"):    "hello sandbox\n",
		filepath.Join(sandbox, "sub", "a.txt"): "0123456789",
		filepath.Join(sandbox, "stdout"):       "shadowed",
		filepath.Join(logs, "stdout"):          "line one\nline two\n",
		filepath.Join(logs, "stderr"):          "",
		filepath.Join(logs, "exit-status"):     "0",
		outside:                                "root's secret",
	}
	for p, body := range files {
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"out-abs":  outside,
		"out-rel":  "../secret",
		"etc":      "/etc",
		"inside":   "hello.txt",
		"sub/up":   "../hello.txt",
		"sub/upup": "../../secret",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(sandbox, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(sandbox, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &Executor{tasks: map[string]*task{"t": newTask(api.TaskInfo{ID: "t"}, sandbox, logs, "")}}
	return e, sandbox
}

func TestReadFileTraversal(t *testing.T) {
	e, _ := filesExecutor(t)
	for _, tc := range []struct {
		path string
		want string // the data, or the error wanted
		err  error
	}{
		{path: "hello.txt", want: "hello sandbox\n"},
		{path: "./sub/a.txt", want: "0123456789"},
		{path: "sub/../hello.txt", want: "hello sandbox\n"},
		{path: "inside", want: "hello sandbox\n"},
		{path: "sub/up", want: "hello sandbox\n"},
		{path: "stdout", want: "line one\nline two\n"},
		{path: "../secret", err: ErrBadPath},
		{path: "sub/../../secret", err: ErrBadPath},
		{path: "/etc/passwd", err: ErrBadPath},
		{path: filepath.Join(t.TempDir(), "x"), err: ErrBadPath},
		{path: "out-abs", err: ErrBadPath},
		{path: "out-rel", err: ErrBadPath},
		{path: "etc/passwd", err: ErrBadPath},
		{path: "sub/upup", err: ErrBadPath},
		{path: "fifo", err: ErrBadPath},
		{path: "sub", err: ErrBadPath},
		{path: "exit-status", err: fs.ErrNotExist},
		{path: "missing", err: fs.ErrNotExist},
	} {
		t.Run(strings.ReplaceAll(tc.path, "/", "|"), func(t *testing.T) {
			got, err := e.ReadFile("t", tc.path, 0, 0)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("ReadFile(%q) = %q, %v; want %v", tc.path, got.Data, err, tc.err)
				}
				if strings.Contains(got.Data, "secret") {
					t.Fatalf("ReadFile(%q) leaked %q", tc.path, got.Data)
				}
				return
			}
			if err != nil || got.Data != tc.want {
				t.Fatalf("ReadFile(%q) = %q, %v; want %q", tc.path, got.Data, err, tc.want)
			}
		})
	}
	if _, err := e.ReadFile("nope", "hello.txt", 0, 0); !errors.Is(err, ErrUnknownTask) {
		t.Errorf("unknown task: %v", err)
	}
}

func TestReadFileOffsets(t *testing.T) {
	e, _ := filesExecutor(t)
	for _, tc := range []struct {
		offset, length int64
		data           string
		at             int64
	}{
		{0, 4, "0123", 0},
		{4, 0, "456789", 4},
		{8, 100, "89", 8},
		{10, 5, "", 10},
		{99, 5, "", 10}, // past the end: moved back to it
		{-1, 0, "", 10}, // the size only, where a tail starts
	} {
		got, err := e.ReadFile("t", "sub/a.txt", tc.offset, tc.length)
		if err != nil || got.Data != tc.data || got.Offset != tc.at || got.Size != 10 || got.Length != int64(len(tc.data)) {
			t.Errorf("ReadFile(offset %d, length %d) = %+v, %v; want %q at %d", tc.offset, tc.length, got, err, tc.data, tc.at)
		}
	}
}

func TestListFiles(t *testing.T) {
	e, _ := filesExecutor(t)
	top, err := e.ListFiles("t", "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range top {
		names = append(names, f.Path)
		if f.Path == "stdout" && f.Size != int64(len("line one\nline two\n")) {
			t.Errorf("stdout listed from the sandbox, not the logs: %+v", f)
		}
	}
	want := "etc fifo hello.txt inside out-abs out-rel stderr stdout sub"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("top level = %q, want %q", got, want)
	}
	sub, err := e.ListFiles("t", "sub")
	if err != nil || len(sub) != 3 || sub[0].Path != "sub/a.txt" {
		t.Errorf("sub = %+v, %v", sub, err)
	}
	for _, p := range []string{"..", "/", "etc", "out-rel", "hello.txt", "sub/../.."} {
		if _, err := e.ListFiles("t", p); !errors.Is(err, ErrBadPath) {
			t.Errorf("ListFiles(%q) = %v, want %v", p, err, ErrBadPath)
		}
	}
}

// A real task's printed line, read back through the file API.
func TestReadFileOfRunningTask(t *testing.T) {
	hs := newHarness(t, false, nil)
	if err := hs.e.Launch(newInfo("printer", `echo "printed by the task"; echo oops >&2; sleep 30`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, hs.e, "printer", api.TaskRunning)
	testutil.Eventually(t, waitLong, 20*time.Millisecond, func() bool {
		c, err := hs.e.ReadFile("printer", "stdout", 0, 0)
		return err == nil && c.Data == "printed by the task\n"
	}, "the task's line in stdout")
	c, err := hs.e.ReadFile("printer", "stderr", 0, 0)
	if err != nil || c.Data != "oops\n" {
		t.Errorf("stderr = %+v, %v", c, err)
	}
}
