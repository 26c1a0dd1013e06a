package agent

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/agent/executor"
	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// A task's sandbox through the agent's API: its printed line reads back;
// no path leads out of the sandbox, whatever links the task made.
func TestAPITaskFiles(t *testing.T) {
	ta := startAgent(t, nil)
	openHarvest(t, ta)
	cmd := `ln -s /etc/passwd passwd; ln -s .. up; mkdir d; echo inner > d/f; echo "hello from the task"; sleep 60`
	info := api.TaskInfo{ID: "files", Cmd: cmd, Resources: resources.Resources{CPUs: 0.1, MemBytes: 16 << 20}}
	if code, body := ta.do(t, http.MethodPost, "/api/v1/tasks", info); code != http.StatusAccepted {
		t.Fatalf("launch: %d %s", code, body)
	}
	waitTask(t, ta.Agent, "files", 30*time.Second, isState(api.TaskRunning), "running")
	read := func(q string) (int, executor.FileChunk, []byte) {
		code, body := ta.do(t, http.MethodGet, "/api/v1/tasks/files/files/read?"+q, nil)
		var c executor.FileChunk
		if code == http.StatusOK {
			if err := json.Unmarshal(body, &c); err != nil {
				t.Fatalf("%s: %v: %s", q, err, body)
			}
		}
		return code, c, body
	}
	testutil.Eventually(t, 30*time.Second, 50*time.Millisecond, func() bool {
		code, c, _ := read("path=stdout")
		return code == http.StatusOK && c.Data == "hello from the task\n"
	}, "the task's line through GET files/read")
	if code, c, body := read("path=stdout&offset=6&length=4"); code != http.StatusOK || c.Data != "from" || c.Offset != 6 {
		t.Errorf("offset read: %d %+v %s", code, c, body)
	}
	if code, c, body := read("path=d/f"); code != http.StatusOK || c.Data != "inner\n" {
		t.Errorf("sandbox file: %d %+v %s", code, c, body)
	}
	outside := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(outside, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		query string
		code  int
	}{
		{"path=passwd", http.StatusBadRequest},
		{"path=up/files/stdout", http.StatusBadRequest},
		{"path=../files/stdout", http.StatusBadRequest},
		{"path=" + url.QueryEscape("d/../../x"), http.StatusBadRequest},
		{"path=" + url.QueryEscape(outside), http.StatusBadRequest},
		{"path=/etc/passwd", http.StatusBadRequest},
		{"path=d", http.StatusBadRequest},
		{"path=nope", http.StatusNotFound},
		{"path=stdout&offset=x", http.StatusBadRequest},
		{"path=stdout&length=-1", http.StatusBadRequest},
	} {
		code, _, body := read(tc.query)
		if code != tc.code {
			t.Errorf("read %s = %d %s, want %d", tc.query, code, body, tc.code)
		}
		if code != http.StatusOK {
			decodeAPIError(t, body)
		}
		if strings.Contains(string(body), "root:") {
			t.Errorf("read %s leaked /etc/passwd: %s", tc.query, body)
		}
	}
	code, body := ta.do(t, http.MethodGet, "/api/v1/tasks/files/files", nil)
	var list []executor.FileEntry
	if code != http.StatusOK || json.Unmarshal(body, &list) != nil {
		t.Fatalf("list: %d %s", code, body)
	}
	var names []string
	for _, f := range list {
		names = append(names, f.Path)
	}
	if got := strings.Join(names, " "); !strings.Contains(got, "d passwd stderr stdout up") {
		t.Errorf("listing = %q", got)
	}
	for _, p := range []string{"up", "..", "/"} {
		if code, body := ta.do(t, http.MethodGet, "/api/v1/tasks/files/files?path="+url.QueryEscape(p), nil); code != http.StatusBadRequest {
			t.Errorf("list %s = %d %s, want 400", p, code, body)
		}
	}
	if code, body := ta.do(t, http.MethodGet, "/api/v1/tasks/nope/files/read?path=stdout", nil); code != http.StatusNotFound {
		t.Errorf("unknown task = %d %s", code, body)
	}
}
