package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/exporter"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// cliTranscript runs the command line as main does and returns what a
// terminal shows: the command, stdout, stderr and a non-zero exit status,
// with replace's keys (temporary paths, ports) swapped for their names.
func cliTranscript(t *testing.T, replace map[string]string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	out := "$ headroom " + strings.Join(args, " ") + "\n" + stdout.String() + stderr.String()
	if code != 0 {
		out += fmt.Sprintf("[exit %d]\n", code)
	}
	for k, v := range replace {
		out = strings.ReplaceAll(out, k, v)
	}
	return out
}

// golden compares got with testdata/errors/NAME.txt (or writes it with
// -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "errors", name+".txt")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Fatalf("output differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// inProcessMaster runs a real master (embedded etcd) for the test and
// returns its URL.
func inProcessMaster(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	url := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		// Insecure: these messages are about the definitions, not the
		// credentials.
		done <- runMaster(ctx, &masterFlags{listen: "127.0.0.1:0", dataDir: t.TempDir(), insecure: true,
			heartbeatInterval: time.Second, agentTimeout: 10 * time.Second, electionTTL: 2 * time.Second},
			slog.New(slog.NewTextHandler(io.Discard, nil)), func(u string) { url <- u })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("master: %v", err)
		}
	})
	select {
	case u := <-url:
		// The apps API answers once the master leads and has loaded its
		// state.
		deadline := time.Now().Add(60 * time.Second)
		for {
			var out bytes.Buffer
			if run(context.Background(), []string{"apps", "ls", "--master", u}, nil, &out, io.Discard) == 0 {
				return u
			}
			if time.Now().After(deadline) {
				t.Fatal("the master elected no leader")
			}
			time.Sleep(100 * time.Millisecond)
		}
	case err := <-done:
		t.Fatalf("master: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("master did not start")
	}
	return ""
}

// TestCLIMasterErrors: what the master refuses reaches the terminal
// readably: no nested quoting, no \u003e, each field once.
func TestCLIMasterErrors(t *testing.T) {
	master := inProcessMaster(t)
	dir := writeFiles(t, map[string]string{
		"bad-field.json": `{"id": "/bad", "cmd": "sleep 60", "cpu": 1}`,
		"bad-range.json": `{"id": "/bad", "cmd": "sleep 60", "cpus": -1, "mem": 0}`,
		"bad-type.json":  `{"id": "/bad", "cmd": "sleep 60", "cpus": "1"}`,
		"report.json":    `{"id": "reports.daily", "run": {"cmd": "true", "cpus": 0.1, "mem": 16}}`,
		"bad-job.json":   `{"id": "reports.bad", "run": {"cmd": "true", "cpus": -1, "mem": 16}}`,
	})
	rep := map[string]string{master: "$MASTER", dir + "/": ""}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"app-unknown-field", []string{"apps", "deploy", "bad-field.json"}},
		{"app-out-of-range", []string{"apps", "deploy", "bad-range.json"}},
		{"app-wrong-type", []string{"apps", "deploy", "bad-type.json"}},
		{"jobs-add-positional", []string{"jobs", "add", "report.json"}},
		{"jobs-add-out-of-range", []string{"jobs", "add", "bad-job.json"}},
		{"jobs-add-no-file", []string{"jobs", "add"}},
		{"agents-label-unknown-host", []string{"agents", "label", "nohost", "rack=a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string(nil), tc.args...)
			if strings.HasSuffix(args[len(args)-1], ".json") {
				args[len(args)-1] = filepath.Join(dir, args[len(args)-1])
			}
			golden(t, tc.name, cliTranscript(t, rep, append(args, "--master", master)...))
		})
	}
}

// TestCLIConnectionRefused: an unreachable master is named, with what to
// check.
func TestCLIConnectionRefused(t *testing.T) {
	addr := freeAddr(t) // closed again: nothing listens there
	master := "http://" + addr
	golden(t, "connection-refused", cliTranscript(t, map[string]string{addr: "127.0.0.1:$PORT"}, "apps", "ls", "--master", master))
	golden(t, "connection-refused-two", cliTranscript(t, map[string]string{addr: "127.0.0.1:$PORT"},
		"tasks", "ls", "--master", master+","+master))
}

// TestCLITokenFileMissing: a HEADROOM_TOKEN_FILE that is not there is
// named with what to point it at, before any master is asked.
func TestCLITokenFileMissing(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HEADROOM_TOKEN_FILE", filepath.Join(dir, "operator.token"))
	golden(t, "token-file-missing", cliTranscript(t, map[string]string{dir: "$DIR"}, "apps", "ls", "--master", "http://127.0.0.1:1"))
}

// TestCLIPolicyCheckAllAtOnce: unknown fields do not hide range errors.
func TestCLIPolicyCheckAllAtOnce(t *testing.T) {
	dir := writeFiles(t, map[string]string{"p.yaml": "reserv:\n  cpus: 1\npredictor:\n  cpu_percentile: 120\nreserve:\n  memory: 4G\n"})
	golden(t, "policy-check-all-at-once", cliTranscript(t, map[string]string{dir + "/": ""}, "policy", "check", filepath.Join(dir, "p.yaml")))
}

// TestCLISizes: sizes keep their unit; an ambiguous one is refused.
func TestCLISizes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{{"mem=4GB", 4_000_000_000}, {"mem=4GiB", 4 << 30}, {"mem=4096", 4096}} {
		r, err := parseDedicated(tc.in)
		if err != nil || r.MemBytes != tc.want {
			t.Errorf("--dedicated %s: %d, %v; want %d", tc.in, r.MemBytes, err, tc.want)
		}
	}
	work := t.TempDir()
	golden(t, "dedicated-ambiguous-size", cliTranscript(t, map[string]string{work: "$DIR"}, "agent", "--dedicated", "cpus=1,mem=4G", "--work-dir", work))
}

// TestCLIVersion: --version prints what `headroom version` prints.
func TestCLIVersion(t *testing.T) {
	rep := map[string]string{exporter.Version: "$VERSION"}
	a := cliTranscript(t, rep, "--version")
	b := cliTranscript(t, rep, "version")
	if strings.TrimPrefix(a, "$ headroom --version\n") != strings.TrimPrefix(b, "$ headroom version\n") {
		t.Fatalf("--version and version differ:\n%s\n%s", a, b)
	}
	if !strings.HasPrefix(strings.TrimPrefix(a, "$ headroom --version\n"), "headroom $VERSION (go") {
		t.Fatalf("--version: %s", a)
	}
}

// TestCLIJSONOutputUnescaped: -o json keeps <, > and & as they are.
func TestCLIJSONOutputUnescaped(t *testing.T) {
	var out bytes.Buffer
	f := &cliFlags{output: "json"}
	if err := f.show(&out, map[string]string{"reason": "short of cpus: need > 0.5 & <= 1"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"reason\": \"short of cpus: need > 0.5 & <= 1\"\n}\n"; out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}
