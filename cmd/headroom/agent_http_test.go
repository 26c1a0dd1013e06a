package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/internal/testutil"
)

// TestAgentServesEstimate: the estimate URL the demo banner prints answers
// on a real agent, next to the agent's own /api/v1/ routes.
func TestAgentServesEstimate(t *testing.T) {
	testutil.NeedRoot(t)
	bin := buildBinary(t)
	addr := freeAddr(t)
	dir := t.TempDir()
	startProc(t, bin, "agent", "--listen", addr, "--work-dir", filepath.Join(dir, "work"),
		"--batch-cgroup", "headroom-test-estimate-"+filepath.Base(dir)+"/batch", "--task-user", "-", "--allow-root-tasks", "--cleanup-on-stop")
	base := "http://" + addr
	testutil.Eventually(t, 30*time.Second, 100*time.Millisecond, func() bool {
		code, _ := get(t, base+"/api/v1/state")
		return code == http.StatusOK
	}, "agent serving /api/v1/state")
	code, body := get(t, base+"/api/v1/estimate")
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/estimate: %d %s", code, body)
	}
	var est map[string]any
	if err := json.Unmarshal([]byte(body), &est); err != nil {
		t.Fatalf("GET /api/v1/estimate: not JSON: %v\n%s", err, body)
	}
	if _, ok := est["harvestable_cpus"]; !ok {
		t.Fatalf("GET /api/v1/estimate: no harvestable_cpus in %s", body)
	}
}
