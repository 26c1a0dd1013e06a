package agent

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The agent's launch API refuses a root task with a 4xx naming the user
// field, and creates nothing for it.
func TestAPIRefusesRootTask(t *testing.T) {
	ta := startAgent(t, func(c *Config) {
		c.Executor.User = "nobody"
		c.Executor.AllowRootTasks = false
	})
	code, body := ta.do(t, http.MethodPost, "/api/v1/tasks", taskJSON(t, set("user", "root")))
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("launch as root: %d %s, want 422", code, body)
	}
	_, details := decodeAPIError(t, body)
	if !strings.Contains(details, "user: ") || !strings.Contains(details, "--allow-root-tasks") {
		t.Errorf("refusal %q does not name the user field and the flag", details)
	}
	if n := len(ta.exec.Tasks()); n != 0 {
		t.Errorf("%d tasks known after a refused launch", n)
	}
	if ents := dirEntries(t, filepath.Join(ta.cfg.Executor.WorkDir, "sandboxes")); len(ents) != 0 {
		t.Errorf("sandboxes created: %v", ents)
	}
	if _, err := os.Stat(filepath.Join(ta.cfg.Executor.WorkDir, "tasks", "bad.json")); !os.IsNotExist(err) {
		t.Errorf("checkpoint written for a refused task: %v", err)
	}
}
