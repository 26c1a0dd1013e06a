package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDaemonsRefuseReadableTokenFiles: a token file others may read (the
// mode `echo TOKEN > FILE` gives under umask 022) is readable by every task
// on an agent's host, and with it a task calls every agent's API and
// registers as an agent. A real agent and a real master given one refuse
// to start, naming the file and the fix, for every flag and file that
// carries a server's token.
func TestDaemonsRefuseReadableTokenFiles(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	loose := filepath.Join(dir, "loose.token")
	if err := os.WriteFile(loose, []byte("a-token-others-can-read\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode is masked by the umask; Chmod is not.
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	creds := filepath.Join(dir, "credentials.yaml")
	if err := os.WriteFile(creds, []byte("credentials:\n  - id: ops\n    role: operator\n    token_file: loose.token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"agent --token-file", []string{"agent", "--master", "http://127.0.0.1:1", "--work-dir", filepath.Join(dir, "w1"), "--token-file", loose}},
		{"agent --api-token-file", []string{"agent", "--master", "http://127.0.0.1:1", "--work-dir", filepath.Join(dir, "w2"), "--api-token-file", loose}},
		{"master --token-file", []string{"master", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "d1"), "--token-file", loose}},
		{"master --agent-api-token-file", []string{"master", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "d2"), "--agent-api-token-file", loose}},
		{"master --credentials-file token_file", []string{"master", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "d3"), "--credentials-file", creds}},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin, c.args...).CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("still running after %v: it started with a token file others can read:\n%s", 20*time.Second, out)
			}
			if err == nil || !strings.Contains(string(out), loose) || !strings.Contains(string(out), "lets others read it; chmod 600") {
				t.Fatalf("exit %v, want a refusal naming %s and chmod 600:\n%s", err, loose, out)
			}
		})
	}
}
