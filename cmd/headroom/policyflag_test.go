package main

import (
	"path/filepath"
	"testing"
)

// TestCLIPolicyFileMissing: the README's `monitor --policy my-policy.yaml`
// before the file exists says how to write it; the agent says the same.
func TestCLIPolicyFileMissing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "my-policy.yaml")
	rep := map[string]string{dir: "$DIR"}
	golden(t, "policy-file-missing", cliTranscript(t, rep, "monitor", "--listen", "127.0.0.1:0", "--policy", path)+
		cliTranscript(t, rep, "agent", "--listen", "127.0.0.1:0", "--work-dir", filepath.Join(dir, "work"), "--policy", path))
}
