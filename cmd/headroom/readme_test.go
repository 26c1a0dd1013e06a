package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/internal/testutil"
)

// tourCommand is one shell command of the README's quick tour.
type tourCommand struct {
	text       string
	background bool // ends in &: a server left running
}

// quickTour extracts the commands between the quick-tour markers of
// README.md: a heredoc or a line continued with \\ is one command.
func quickTour(t *testing.T, readme string) []tourCommand {
	t.Helper()
	data, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	begin := strings.Index(text, "<!-- quick-tour:begin -->")
	end := strings.Index(text, "<!-- quick-tour:end -->")
	if begin < 0 || end < begin {
		t.Fatalf("%s: no quick-tour markers", readme)
	}
	var cmds []tourCommand
	var cur []string
	heredoc := ""
	sc := bufio.NewScanner(strings.NewReader(text[begin:end]))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case heredoc != "":
			cur = append(cur, line)
			if line == heredoc {
				heredoc = ""
				cmds = append(cmds, tourCommand{text: strings.Join(cur, "\n")})
				cur = nil
			}
			continue
		case strings.HasPrefix(line, "```"), strings.HasPrefix(line, "<!--"), strings.TrimSpace(line) == "":
			continue
		}
		cur = append(cur, line)
		if _, tag, ok := strings.Cut(line, "<<'"); ok {
			heredoc, _, _ = strings.Cut(tag, "'")
			continue
		}
		if strings.HasSuffix(line, "\\") {
			continue
		}
		cmd := strings.Join(cur, "\n")
		cur = nil
		cmds = append(cmds, tourCommand{text: cmd, background: strings.HasSuffix(stripComment(cmd), "&")})
	}
	if heredoc != "" || len(cur) > 0 {
		t.Fatalf("%s: the quick tour ends inside a command", readme)
	}
	return cmds
}

// TestReadmeQuickTour runs the README's quick tour as written, but on free
// loopback ports, in a temporary directory and with a cgroup of its own,
// and checks that its work runs.
func TestReadmeQuickTour(t *testing.T) {
	testutil.NeedRoot(t)
	bin := buildBinary(t)
	example := filepath.Join(t.TempDir(), "batchqueue")
	build := exec.Command("go", "build", "-o", example, "../../examples/batchqueue")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the example framework: %v\n%s", err, out)
	}
	dir := t.TempDir()
	// Tasks run as nobody and must reach their sandboxes below it: dir
	// and its parent stand for /tmp. The tour's own directory is left to
	// the tour's commands to create, as on a fresh host.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	tag := fmt.Sprintf("headroom-test-readme-%d", os.Getpid())
	t.Cleanup(func() {
		for _, ctrl := range []string{"cpu", "memory", ""} {
			if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", ctrl, tag)); err == nil {
				t.Errorf("cgroup %s left behind", filepath.Join(ctrl, tag))
			}
		}
	})
	masterAddr, agentAddr := freeAddr(t), freeAddr(t)
	subst := strings.NewReplacer(
		"127.0.0.1:5050", masterAddr,
		"127.0.0.1:5051", agentAddr,
		"/tmp/headroom-tour", filepath.Join(dir, "tour"),
		"headroom-tour/batch", tag+"/batch",
		"bin/headroom", bin,
		"go run ./examples/batchqueue", example,
	)

	cmds := quickTour(t, "../../README.md")
	if len(cmds) < 10 {
		t.Fatalf("the quick tour has %d commands: the markers moved?", len(cmds))
	}
	env := os.Environ()
	for _, c := range cmds {
		text := subst.Replace(c.text)
		// export K=V sets the environment of the commands after it, as
		// in the shell the tour is pasted into.
		if rest, ok := strings.CutPrefix(stripComment(text), "export "); ok && !strings.ContainsAny(rest, " \n") {
			if k, v, ok := strings.Cut(rest, "="); ok {
				v = os.Expand(v, func(name string) string { return lookupEnv(env, name) })
				env = append(env, k+"="+v)
				continue
			}
		}
		if c.background {
			line := strings.TrimSuffix(stripComment(text), "&")
			startProcIn(t, dir, env, "bash", "-c", "exec "+line)
			continue
		}
		runTourCommand(t, dir, env, text)
	}

	// The app on dedicated capacity runs; so did the framework's commands
	// (the batch queue exits 0 only once they have all finished).
	testutil.Eventually(t, 2*time.Minute, 500*time.Millisecond, func() bool {
		ls := exec.Command(bin, "tasks", "ls", "-o", "json", "--master", "http://"+masterAddr)
		ls.Env = env // with the tour's credential
		out, err := ls.Output()
		if err != nil {
			return false
		}
		var tasks []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		}
		if json.Unmarshal(out, &tasks) != nil {
			return false
		}
		for _, tk := range tasks {
			if strings.HasPrefix(tk.ID, "tour_steady.") && tk.State == "TASK_RUNNING" {
				return true
			}
		}
		return false
	}, "a task of /tour/steady RUNNING")
}

// stripComment drops a trailing " # comment" from a one-line command
// without quotes.
func stripComment(cmd string) string {
	if i := strings.Index(cmd, " #"); i >= 0 && !strings.ContainsAny(cmd[:i], "'\"\n") {
		return strings.TrimSpace(cmd[:i])
	}
	return strings.TrimSpace(cmd)
}

// lookupEnv is the last value of name in env, as the shell sees it.
func lookupEnv(env []string, name string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == name {
			return v
		}
	}
	return ""
}

// startProcIn starts a process in dir ("": the test's) with env (nil:
// the test's), stopped at cleanup with its log tail shown on failure.
func startProcIn(t testing.TB, dir string, env []string, name string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(name, args...), stderr: &bytes.Buffer{}, exited: make(chan error, 1)}
	p.cmd.Dir, p.cmd.Env = dir, env
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			out := p.stderr.String()
			if len(out) > 6000 {
				out = out[len(out)-6000:]
			}
			t.Logf("%s log (tail):\n%s", strings.Join(p.cmd.Args[1:], " "), out)
		}
	})
	return p
}

// runTourCommand runs one command, again while it fails (a person reads
// the output and tries again; the servers may still be starting), up to a
// bound.
func runTourCommand(t *testing.T, dir string, env []string, text string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "-e", "-c", text)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		cancel()
		if err == nil {
			t.Logf("$ %s\n%s", text, out)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("quick tour command failed: %v\n$ %s\n%s", err, text, out)
		}
		time.Sleep(time.Second)
	}
}
