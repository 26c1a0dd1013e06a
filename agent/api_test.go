package agent

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/agent/executor"
	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// apiError is the body of every error answer of the agent's API.
type apiError struct {
	Message string `json:"message"`
	Details any    `json:"details"`
}

// decodeAPIError insists on a JSON {"message","details"} body and returns
// the details as text.
func decodeAPIError(t *testing.T, body []byte) (apiError, string) {
	t.Helper()
	var e apiError
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body is not {message, details} JSON: %v: %s", err, body)
	}
	if e.Message == "" {
		t.Fatalf("error body without a message: %s", body)
	}
	var details string
	switch d := e.Details.(type) {
	case string:
		details = d
	case nil:
	default:
		b, _ := json.Marshal(d)
		details = string(b)
	}
	return e, details
}

// taskJSON is a valid launch request as a map, changed by mod, encoded.
func taskJSON(t *testing.T, mod func(m map[string]any)) string {
	t.Helper()
	m := map[string]any{
		"id":        "bad",
		"cmd":       "sleep 600",
		"resources": map[string]any{"cpus": 0.1, "mem_bytes": 16 << 20},
	}
	if mod != nil {
		mod(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func setRes(key string, v any) func(map[string]any) {
	return func(m map[string]any) { m["resources"].(map[string]any)[key] = v }
}

func setFetch(f map[string]any) func(map[string]any) {
	return func(m map[string]any) {
		if _, ok := f["uri"]; !ok {
			f["uri"] = "http://127.0.0.1:1/artifact.bin"
		}
		m["fetch"] = []any{f}
	}
}

func set(key string, v any) func(map[string]any) {
	return func(m map[string]any) { m[key] = v }
}

// openHarvest applies a fixed reservation at once. Until the monitor's
// harvest has grown, the batch memory limit is what batch holds (next to
// nothing on a fresh agent), and the kernel then refuses even to create a
// task's memory cgroup (ENOMEM): tests that start tasks do not race that.
func openHarvest(t *testing.T, ta *testAgent) {
	t.Helper()
	if err := ta.SetOverride(&Override{Mode: OverrideFixed, CPUs: 1, MemBytes: 2 << 30}); err != nil {
		t.Fatal(err)
	}
}

// dirEntries lists dir, nil when it does not exist.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// Bad launch requests are refused with a 4xx naming the field; nothing is
// created: no task, no sandbox, no checkpoint, no cgroup.
func TestAPIBadTaskRequests(t *testing.T) {
	ta := startAgent(t, nil)
	hex64 := strings.Repeat("ab", 32)
	cases := []struct {
		name string
		body string
		code int
		want string // in the details
	}{
		{"empty body", "", 400, "empty body"},
		{"malformed JSON", `{"id":"bad",,}`, 400, "malformed JSON"},
		{"truncated JSON", `{"id":"bad","cmd":`, 400, ""},
		{"trailing data", taskJSON(t, nil) + `{}`, 400, "trailing data"},
		{"not an object", `[1,2]`, 400, ""},
		{"null", `null`, 422, "id"},
		{"unknown field", taskJSON(t, set("bogus", 1)), 400, `"bogus"`},
		{"unknown nested field", taskJSON(t, setRes("cpu", 1)), 400, `"cpu"`},
		{"id wrong type", taskJSON(t, set("id", 5)), 400, `"id"`},
		{"cpus wrong type", taskJSON(t, setRes("cpus", "two")), 400, "resources.cpus"},
		{"mem wrong type", taskJSON(t, setRes("mem_bytes", 1.5)), 400, "resources.mem_bytes"},
		{"args wrong type", taskJSON(t, func(m map[string]any) { delete(m, "cmd"); m["args"] = "sleep 600" }), 400, `"args"`},
		{"env wrong type", taskJSON(t, set("env", map[string]any{"A": 1})), 400, "env"},
		{"fetch wrong type", taskJSON(t, set("fetch", "http://x/y")), 400, "fetch"},
		{"body too large", taskJSON(t, set("name", strings.Repeat("a", maxBody+10))), 413, "limit_bytes"},
		{"negative cpus", taskJSON(t, setRes("cpus", -1)), 422, "cpus"},
		{"absurd cpus", taskJSON(t, setRes("cpus", 1e308)), 422, "cpus: must be at most"},
		{"zero cpus", taskJSON(t, setRes("cpus", 0)), 422, "resources.cpus"},
		{"zero mem", taskJSON(t, setRes("mem_bytes", 0)), 422, "resources.mem_bytes"},
		{"negative mem", taskJSON(t, setRes("mem_bytes", -5)), 422, "mem_bytes"},
		{"no resources", taskJSON(t, func(m map[string]any) { delete(m, "resources") }), 422, "resources.cpus"},
		{"missing cmd and args", taskJSON(t, func(m map[string]any) { delete(m, "cmd") }), 422, "cmd"},
		{"empty args", taskJSON(t, func(m map[string]any) { delete(m, "cmd"); m["args"] = []string{} }), 422, "cmd"},
		{"both cmd and args", taskJSON(t, set("args", []string{"sleep", "1"})), 422, "cmd"},
		{"missing id", taskJSON(t, func(m map[string]any) { delete(m, "id") }), 422, "id"},
		{"id traversal", taskJSON(t, set("id", "../x")), 422, "id"},
		{"id slash", taskJSON(t, set("id", "a/b")), 422, "id"},
		{"id dotdot inside", taskJSON(t, set("id", "a..b")), 422, "id"},
		{"id dot", taskJSON(t, set("id", ".")), 422, "id"},
		{"id too long", taskJSON(t, set("id", strings.Repeat("a", 201))), 422, "id"},
		{"framework id slash", taskJSON(t, set("framework_id", "f/../g")), 422, "framework_id"},
		{"output_file dotdot", taskJSON(t, setFetch(map[string]any{"output_file": "../x"})), 422, "output_file"},
		{"output_file dotdot only", taskJSON(t, setFetch(map[string]any{"output_file": ".."})), 422, "output_file"},
		{"output_file absolute", taskJSON(t, setFetch(map[string]any{"output_file": "/etc/passwd"})), 422, "output_file"},
		{"output_file slash", taskJSON(t, setFetch(map[string]any{"output_file": "a/b"})), 422, "output_file"},
		{"uri ftp", taskJSON(t, setFetch(map[string]any{"uri": "ftp://127.0.0.1/x.tgz"})), 422, "uri"},
		{"uri no scheme", taskJSON(t, setFetch(map[string]any{"uri": "x.tgz"})), 422, "uri"},
		{"uri empty", taskJSON(t, setFetch(map[string]any{"uri": ""})), 422, "uri"},
		{"uri unparsable", taskJSON(t, setFetch(map[string]any{"uri": "http://[::1"})), 422, "uri"},
		{"sha256 short", taskJSON(t, setFetch(map[string]any{"sha256": "abc"})), 422, "sha256"},
		{"sha256 not hex", taskJSON(t, setFetch(map[string]any{"sha256": strings.Repeat("zz", 32)})), 422, "sha256"},
		{"sha256 too long", taskJSON(t, setFetch(map[string]any{"sha256": hex64 + "ab"})), 422, "sha256"},
		{"rootfs traversal", taskJSON(t, set("rootfs", "../../etc")), 422, "rootfs"},
		{"rootfs inner traversal", taskJSON(t, set("rootfs", "a/../../etc")), 422, "rootfs"},
		{"rootfs absolute", taskJSON(t, set("rootfs", "/etc")), 422, "rootfs"},
		{"env bad key", taskJSON(t, set("env", map[string]string{"A-B": "x"})), 422, "env[A-B]"},
		{"negative pids limit", taskJSON(t, set("pids_limit", -1)), 422, "pids_limit"},
		{"negative grace", taskJSON(t, set("kill_grace_period_seconds", -1)), 422, "kill_grace_period_seconds"},
		{"huge grace", taskJSON(t, set("kill_grace_period_seconds", 1e9)), 422, "kill_grace_period_seconds"},
		{"bad user", taskJSON(t, set("user", "root;rm")), 422, "user"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := ta.do(t, http.MethodPost, "/api/v1/tasks", tc.body)
			if code != tc.code {
				t.Fatalf("POST: %d %s, want %d", code, body, tc.code)
			}
			_, details := decodeAPIError(t, body)
			if !strings.Contains(details, tc.want) {
				t.Errorf("details %q do not name %q", details, tc.want)
			}
		})
	}
	if tasks := ta.exec.Tasks(); len(tasks) != 0 {
		t.Fatalf("the executor knows %d tasks after bad requests: %+v", len(tasks), tasks)
	}
	work := ta.cfg.Executor.WorkDir
	for _, dir := range []string{filepath.Join(work, "sandboxes"), filepath.Join(work, "tasks")} {
		if names := dirEntries(t, dir); len(names) != 0 {
			t.Errorf("%s holds %v after bad requests", dir, names)
		}
	}
	if names := dirEntries(t, filepath.Dir(work)); len(names) != 1 {
		t.Errorf("the work dir's parent holds %v, want only the work dir", names)
	}
	if children, err := ta.h.Children(ta.cfg.BatchCgroup); err != nil || len(children) != 0 {
		t.Errorf("task cgroups after bad requests: %v (%v)", children, err)
	}
	code, body := ta.do(t, http.MethodGet, "/api/v1/tasks", nil)
	if code != http.StatusOK || strings.TrimSpace(string(body)) != "[]" {
		t.Errorf("GET /api/v1/tasks: %d %s, want []", code, body)
	}
}

// A second launch with a live task's id is a conflict and leaves the first
// task untouched; a kill then works, twice.
func TestAPIDuplicateTaskID(t *testing.T) {
	ta := startAgent(t, nil)
	openHarvest(t, ta)
	first := api.TaskInfo{ID: "dup", Cmd: "sleep 600", Resources: resources.Resources{CPUs: 0.1, MemBytes: 16 << 20}}
	if code, body := ta.do(t, http.MethodPost, "/api/v1/tasks", first); code != http.StatusAccepted {
		t.Fatalf("first launch: %d %s", code, body)
	}
	waitTask(t, ta.Agent, "dup", 30*time.Second, isState(api.TaskRunning), "running")
	second := first
	second.Cmd = "touch /tmp/should-not-run"
	code, body := ta.do(t, http.MethodPost, "/api/v1/tasks", second)
	if code != http.StatusConflict {
		t.Fatalf("duplicate launch: %d %s, want 409", code, body)
	}
	if _, details := decodeAPIError(t, body); !strings.Contains(details, "dup") || !strings.Contains(details, "exists") {
		t.Errorf("duplicate details %q do not name the id", details)
	}
	v, ok := ta.exec.Task("dup")
	if !ok || v.Info.Cmd != first.Cmd || v.Status.State != api.TaskRunning {
		t.Fatalf("the first task changed: %+v", v)
	}
	for i := range 2 {
		if code, body := ta.do(t, http.MethodPost, "/api/v1/tasks/dup/kill", nil); code != http.StatusAccepted {
			t.Fatalf("kill %d: %d %s", i, code, body)
		}
	}
	st := waitTask(t, ta.Agent, "dup", 10*time.Second, isState(api.TaskKilled), "killed")
	if st.Reason != api.ReasonKilledByRequest {
		t.Errorf("kill reason %q, want %q", st.Reason, api.ReasonKilledByRequest)
	}
	// Terminal and not forgotten: the id is still taken.
	if code, body := ta.do(t, http.MethodPost, "/api/v1/tasks", first); code != http.StatusConflict {
		t.Errorf("relaunch of a terminal id: %d %s, want 409", code, body)
	}
}

func TestAPIKillUnknownAndBadKill(t *testing.T) {
	ta := startAgent(t, nil)
	code, body := ta.do(t, http.MethodPost, "/api/v1/tasks/nosuch/kill", nil)
	if code != http.StatusNotFound {
		t.Fatalf("kill of an unknown task: %d %s, want 404", code, body)
	}
	if _, details := decodeAPIError(t, body); !strings.Contains(details, "nosuch") {
		t.Errorf("details %q do not name the task", details)
	}
	code, body = ta.do(t, http.MethodPost, "/api/v1/tasks/nosuch/kill", `{"reason":"x","bogus":1}`)
	if code != http.StatusBadRequest {
		t.Fatalf("kill with an unknown field: %d %s, want 400", code, body)
	}
	if _, details := decodeAPIError(t, body); !strings.Contains(details, "bogus") {
		t.Errorf("details %q do not name the field", details)
	}
	if code, body = ta.do(t, http.MethodGet, "/api/v1/tasks/nosuch/kill", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("GET on the kill route: %d %s, want 405", code, body)
	}
	if n := len(ta.exec.Tasks()); n != 0 {
		t.Errorf("the executor knows %d tasks", n)
	}
}

// Bad attributes are refused and leave the current ones in place.
func TestAPIBadAttributes(t *testing.T) {
	ta := startAgent(t, func(c *Config) { c.Attributes = map[string]string{"static": "yes"} })
	good := map[string]string{"rack": "r1", "zone": "eu-1"}
	code, body := ta.do(t, http.MethodPut, "/api/v1/attributes", good)
	if code != http.StatusOK {
		t.Fatalf("PUT good attributes: %d %s", code, body)
	}
	var echoed map[string]string
	if err := json.Unmarshal(body, &echoed); err != nil || !maps.Equal(echoed, good) {
		t.Fatalf("PUT answer %s (%v), want %v", body, err, good)
	}
	tooMany := map[string]string{}
	for i := range 65 {
		tooMany[fmt.Sprintf("k%d", i)] = "v"
	}
	enc := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	cases := []struct {
		name, body string
		code       int
		want       string
	}{
		{"space in key", `{"bad key":"x"}`, 422, `"bad key"`},
		{"leading digit", `{"1rack":"x"}`, 422, `"1rack"`},
		{"slash in key", `{"a/b":"x"}`, 422, `"a/b"`},
		{"empty key", `{"":"x"}`, 422, `""`},
		{"long key", enc(map[string]string{strings.Repeat("k", 64): "x"}), 422, "kkkk"},
		{"long value", enc(map[string]string{"rack": strings.Repeat("v", 257)}), 422, `"rack"`},
		{"too many", enc(tooMany), 422, "at most 64"},
		// The decoder cannot name a map key in a type error; the
		// message still says what is wrong.
		{"value not a string", `{"rack":1}`, 400, "got a number, want a string"},
		{"not an object", `["rack"]`, 400, ""},
		{"malformed", `{"rack":`, 400, ""},
		{"trailing", `{"rack":"r2"} x`, 400, "trailing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := ta.do(t, http.MethodPut, "/api/v1/attributes", tc.body)
			if code != tc.code {
				t.Fatalf("PUT %s: %d %s, want %d", tc.body, code, body, tc.code)
			}
			if _, details := decodeAPIError(t, body); !strings.Contains(details, tc.want) {
				t.Errorf("details %q do not name %q", details, tc.want)
			}
			if got := ta.State().Attributes; !maps.Equal(got, good) {
				t.Fatalf("attributes changed to %v, want %v", got, good)
			}
		})
	}
	var st struct {
		Attributes map[string]string `json:"attributes"`
	}
	code, body = ta.do(t, http.MethodGet, "/api/v1/state", nil)
	if err := json.Unmarshal(body, &st); code != http.StatusOK || err != nil || !maps.Equal(st.Attributes, good) {
		t.Fatalf("state attributes: %d %s (%v)", code, body, err)
	}
}

// GET /api/v1/state answers the estimate, the override, the applied
// reservation and the tasks, always with the same keys.
func TestAPIStateShape(t *testing.T) {
	ta := startAgent(t, nil)
	getState := func() map[string]json.RawMessage {
		t.Helper()
		code, body := ta.do(t, http.MethodGet, "/api/v1/state", nil)
		if code != http.StatusOK {
			t.Fatalf("GET state: %d %s", code, body)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("state is not a JSON object: %v: %s", err, body)
		}
		for _, k := range []string{"hostname", "attributes", "estimate", "override", "applied", "dedicated", "tasks", "evictions", "apply_errors", "master"} {
			if _, ok := m[k]; !ok {
				t.Errorf("state lacks %q: %s", k, body)
			}
		}
		return m
	}
	keys := func(raw json.RawMessage, want ...string) {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s is not an object: %v", raw, err)
		}
		for _, k := range want {
			if _, ok := m[k]; !ok {
				t.Errorf("%s lacks %q", raw, k)
			}
		}
	}
	m := getState()
	keys(m["estimate"], "harvestable_cpus", "harvestable_mem_bytes", "cpu_reason", "mem_reason")
	keys(m["applied"], "cpus", "mem_bytes", "cpu_quota", "mem_limit_bytes", "evict_above_bytes")
	if s := string(m["override"]); s != "null" {
		t.Errorf("override %s without a PUT, want null", s)
	}
	if s := string(m["tasks"]); s != "[]" {
		t.Errorf("tasks %s before any launch, want []", s)
	}
	var host string
	if err := json.Unmarshal(m["hostname"], &host); err != nil || host != "test-host" {
		t.Errorf("hostname %s", m["hostname"])
	}

	if code, body := ta.do(t, http.MethodPut, "/api/v1/reservation", map[string]any{"mode": "fixed", "cpus": 0.5, "mem_bytes": 1 << 30}); code != http.StatusOK {
		t.Fatalf("PUT reservation: %d %s", code, body)
	}
	task := api.TaskInfo{ID: "shape", Cmd: "sleep 600", Resources: resources.Resources{CPUs: 0.1, MemBytes: 16 << 20}}
	if code, body := ta.do(t, http.MethodPost, "/api/v1/tasks", task); code != http.StatusAccepted {
		t.Fatalf("launch: %d %s", code, body)
	}
	waitTask(t, ta.Agent, "shape", 30*time.Second, isState(api.TaskRunning), "running")
	m = getState()
	var o Override
	if err := json.Unmarshal(m["override"], &o); err != nil || o.Mode != OverrideFixed || o.CPUs != 0.5 || o.MemBytes != 1<<30 {
		t.Errorf("override %s (%v)", m["override"], err)
	}
	var applied Applied
	if err := json.Unmarshal(m["applied"], &applied); err != nil || applied.CPUs != 0.5 || applied.MemBytes != 1<<30 {
		t.Errorf("applied %s (%v)", m["applied"], err)
	}
	var tasks []executor.TaskView
	if err := json.Unmarshal(m["tasks"], &tasks); err != nil || len(tasks) != 1 {
		t.Fatalf("tasks %s (%v)", m["tasks"], err)
	}
	tv := tasks[0]
	if tv.Info.ID != "shape" || tv.Status.State != api.TaskRunning || tv.Status.TaskID != "shape" ||
		tv.Started.IsZero() || !strings.HasPrefix(tv.Sandbox, ta.cfg.Executor.WorkDir) {
		t.Errorf("task view %+v", tv)
	}
}

// artifactServer serves files from a map on loopback, 404 otherwise.
func artifactServer(t *testing.T, files map[string][]byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

type tarEntry struct {
	name, link, body string
	typ              byte
}

func tarGz(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o755, ModTime: time.Unix(1e9, 0)}
		if e.typ == tar.TypeReg {
			hdr.Mode, hdr.Size = 0o644, int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Artifacts that cannot be fetched, or would write outside the sandbox,
// fail the task in staging with a reason and a message naming the URI or
// the cause, and nothing lands outside the sandbox.
func TestAPIFetchFailures(t *testing.T) {
	const fetchMax = 4096
	outside := t.TempDir() // a directory no artifact may reach
	marker := filepath.Join(outside, "pwned")
	big := bytes.Repeat([]byte("x"), fetchMax+1)
	small := []byte("hello headroom\n")
	dir := func(n string) tarEntry { return tarEntry{name: n, typ: tar.TypeDir} }
	file := func(n, body string) tarEntry { return tarEntry{name: n, body: body, typ: tar.TypeReg} }
	symlink := func(n, target string) tarEntry { return tarEntry{name: n, link: target, typ: tar.TypeSymlink} }
	hardlink := func(n, target string) tarEntry { return tarEntry{name: n, link: target, typ: tar.TypeLink} }
	up := strings.Repeat("../", 20)
	files := map[string][]byte{
		"/big.bin":   big,
		"/small.bin": small,
		"/abs-link.tar.gz": tarGz(t, []tarEntry{dir("rootfs/"), symlink("rootfs/escape", "/etc"),
			symlink("rootfs/out", outside), file("rootfs/out/pwned", "x")}),
		"/rel-link.tar.gz": tarGz(t, []tarEntry{dir("rootfs/"), symlink("rootfs/escape", up+strings.TrimPrefix(outside, "/")),
			file("rootfs/escape/pwned", "x")}),
		"/dotdot.tar.gz":      tarGz(t, []tarEntry{file("../../../../../../.."+marker, "x")}),
		"/absolute.tar.gz":    tarGz(t, []tarEntry{file(marker, "x")}),
		"/hardlink.tar.gz":    tarGz(t, []tarEntry{hardlink("rootfs/passwd", "/etc/passwd")}),
		"/hardlink-up.tar.gz": tarGz(t, []tarEntry{hardlink("rootfs/passwd", "../../../../etc/passwd")}),
		"/bomb.tar.gz":        tarGz(t, []tarEntry{file("a", strings.Repeat("0", fetchMax*8+1))}),
		"/inside.tar.gz": tarGz(t, []tarEntry{dir("rootfs/"), dir("rootfs/bin/"), file("rootfs/file", "x"),
			symlink("rootfs/self", "bin")}),
		"/notar.tar.gz": []byte("not gzip at all"),
	}
	srv := artifactServer(t, files)
	ta := startAgent(t, func(c *Config) { c.Executor.FetchMaxBytes = fetchMax })
	openHarvest(t, ta)

	type fetchCase struct {
		name   string
		fetch  api.FetchURI
		rootfs string
		reason string
		want   []string // in the message
	}
	u := func(p string) string { return srv.URL + p }
	cases := []fetchCase{
		{"http 404", api.FetchURI{URI: u("/missing.bin")}, "", api.ReasonFetchFailed, []string{u("/missing.bin"), "404"}},
		{"connection refused", api.FetchURI{URI: "http://127.0.0.1:1/x.bin"}, "", api.ReasonFetchFailed, []string{"127.0.0.1:1/x.bin", "refused"}},
		{"file outside the allowed dirs", api.FetchURI{URI: "file://" + filepath.Join(outside, "nope.bin")}, "", api.ReasonFetchFailed, []string{"nope.bin", "not under any --fetch-allow-dir"}},
		{"over the size cap", api.FetchURI{URI: u("/big.bin")}, "", api.ReasonFetchFailed, []string{u("/big.bin"), "fetch limit"}},
		{"sha256 mismatch", api.FetchURI{URI: u("/small.bin"), SHA256: sha([]byte("something else"))}, "", api.ReasonFetchFailed,
			[]string{u("/small.bin"), "sha256 mismatch", sha(small)}},
		{"no file name", api.FetchURI{URI: srv.URL + "/"}, "", api.ReasonFetchFailed, []string{"output_file"}},
		{"symlink to /etc as rootfs", api.FetchURI{URI: u("/abs-link.tar.gz"), Extract: true}, "rootfs/escape", api.ReasonFetchFailed,
			[]string{u("/abs-link.tar.gz"), "rootfs/escape", "outside the sandbox"}},
		{"relative symlink escaping", api.FetchURI{URI: u("/rel-link.tar.gz"), Extract: true}, "rootfs/escape", api.ReasonFetchFailed,
			[]string{u("/rel-link.tar.gz"), "outside the sandbox"}},
		{"dotdot entry", api.FetchURI{URI: u("/dotdot.tar.gz"), Extract: true}, "", api.ReasonFetchFailed, []string{"escapes the sandbox"}},
		{"absolute entry", api.FetchURI{URI: u("/absolute.tar.gz"), Extract: true}, "", api.ReasonFetchFailed, []string{"absolute path"}},
		{"hard link to /etc/passwd", api.FetchURI{URI: u("/hardlink.tar.gz"), Extract: true}, "", api.ReasonFetchFailed, []string{"absolute path"}},
		{"hard link up", api.FetchURI{URI: u("/hardlink-up.tar.gz"), Extract: true}, "", api.ReasonFetchFailed, []string{"escapes the sandbox"}},
		{"extraction bomb", api.FetchURI{URI: u("/bomb.tar.gz"), Extract: true}, "", api.ReasonFetchFailed, []string{"size limit"}},
		{"corrupt archive", api.FetchURI{URI: u("/notar.tar.gz"), Extract: true}, "", api.ReasonFetchFailed, []string{u("/notar.tar.gz"), "extract"}},
		{"rootfs missing", api.FetchURI{URI: u("/inside.tar.gz"), Extract: true}, "rootfs/missing", api.ReasonSandboxFailed, []string{"rootfs/missing"}},
		{"rootfs a file", api.FetchURI{URI: u("/inside.tar.gz"), Extract: true}, "rootfs/file", api.ReasonSandboxFailed, []string{"not a directory"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := fmt.Sprintf("fetch-%d", i)
			info := api.TaskInfo{ID: id, Cmd: "touch " + marker, Rootfs: tc.rootfs, Fetch: []api.FetchURI{tc.fetch},
				Resources: resources.Resources{CPUs: 0.1, MemBytes: 16 << 20}}
			if code, body := ta.do(t, http.MethodPost, "/api/v1/tasks", info); code != http.StatusAccepted {
				t.Fatalf("launch: %d %s, want 202 (the failure belongs to staging)", code, body)
			}
			st := waitTask(t, ta.Agent, id, 30*time.Second, func(s api.TaskStatus) bool { return s.State.IsTerminal() }, "terminal")
			if st.State != api.TaskFailed || st.Reason != tc.reason {
				t.Fatalf("ended %s (%s: %s), want %s (%s)", st.State, st.Reason, st.Message, api.TaskFailed, tc.reason)
			}
			for _, w := range tc.want {
				if !strings.Contains(st.Message, w) {
					t.Errorf("message %q does not name %q", st.Message, w)
				}
			}
			v, _ := ta.exec.Task(id)
			if !v.Started.IsZero() {
				t.Errorf("the task started at %v", v.Started)
			}
			// What the sandbox holds must really be inside it.
			_ = filepath.WalkDir(v.Sandbox, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.Type()&os.ModeSymlink == 0 {
					return nil
				}
				if r, err := filepath.EvalSymlinks(p); err == nil && !strings.HasPrefix(r, v.Sandbox+"/") && r != v.Sandbox {
					t.Errorf("sandbox symlink %s resolves outside, to %s", p, r)
				}
				return nil
			})
		})
	}
	t.Run("control", func(t *testing.T) {
		// The same server and agent do deliver a good artifact: the
		// failures above are the artifacts', not the harness's.
		t.Parallel()
		info := api.TaskInfo{ID: "fetch-ok", Cmd: "grep -q headroom data.txt && test -d rootfs/self && test -f rootfs/file",
			Fetch: []api.FetchURI{
				{URI: u("/small.bin"), SHA256: strings.ToUpper(sha(small)), OutputFile: "data.txt"},
				{URI: u("/inside.tar.gz"), Extract: true},
			},
			Resources: resources.Resources{CPUs: 0.1, MemBytes: 16 << 20}}
		if code, body := ta.do(t, http.MethodPost, "/api/v1/tasks", info); code != http.StatusAccepted {
			t.Fatalf("launch: %d %s", code, body)
		}
		st := waitTask(t, ta.Agent, "fetch-ok", 30*time.Second, func(s api.TaskStatus) bool { return s.State.IsTerminal() }, "terminal")
		if st.State != api.TaskFinished {
			v, _ := ta.exec.Task("fetch-ok")
			stderr, _ := os.ReadFile(filepath.Join(v.LogDir, "stderr"))
			t.Fatalf("good artifacts: %s (%s: %s) stderr %q", st.State, st.Reason, st.Message, stderr)
		}
	})
	t.Cleanup(func() {
		// Runs after the parallel subtests: nothing reached the outside.
		if names := dirEntries(t, outside); len(names) != 0 {
			t.Errorf("files written outside the sandbox, in %s: %v", outside, names)
		}
		if _, err := os.Lstat(marker); err == nil {
			t.Errorf("%s exists: a task ran or an artifact escaped", marker)
		}
	})
}

// escapeTarget builds a symlink target that path.Clean keeps inside the
// sandbox (no leading "..") but that the kernel resolves to dst, through a
// link s -> "." at the sandbox's top: "s/.." is "." to path.Clean but the
// sandbox's parent to the kernel. Each round climbs one more level: it
// comes back down to the sandbox by name, then "s/.." plus k-1 "..".
func escapeTarget(t *testing.T, sandbox, dst string) string {
	t.Helper()
	rel, err := filepath.Rel(sandbox, dst)
	if err != nil {
		t.Fatal(err)
	}
	up := 0
	for rel == ".." || strings.HasPrefix(rel, "../") {
		rel = strings.TrimPrefix(strings.TrimPrefix(rel, ".."), "/")
		up++
	}
	comps := strings.Split(strings.Trim(sandbox, "/"), "/")
	n := len(comps)
	var parts []string
	for k := 1; k <= up; k++ {
		parts = append(parts, comps[n-k+1:]...)
		parts = append(parts, "s")
		for range k {
			parts = append(parts, "..")
		}
	}
	parts = append(parts, rel)
	target := strings.Join(parts, "/")
	if c := path.Clean(target); c == ".." || strings.HasPrefix(c, "../") || path.IsAbs(c) {
		t.Fatalf("escape target %q is lexically outside (%q)", target, c)
	}
	return target
}

// A symlink chain that passes the extractor's lexical check may point
// outside the sandbox; the agent, as root, must still never open the
// task's logs through it.
func TestAPIFetchSymlinkChainDoesNotRedirectLogs(t *testing.T) {
	outside := t.TempDir()
	ta := startAgent(t, nil)
	openHarvest(t, ta)
	names := []string{"stdout", "stderr"}
	files := map[string][]byte{}
	for i, name := range names {
		sandbox := filepath.Join(ta.cfg.Executor.WorkDir, "sandboxes", fmt.Sprintf("chain-%d", i))
		files["/"+name+".tar.gz"] = tarGz(t, []tarEntry{
			{name: "s", link: ".", typ: tar.TypeSymlink},
			{name: name, link: escapeTarget(t, sandbox, filepath.Join(outside, name)), typ: tar.TypeSymlink},
		})
	}
	srv := artifactServer(t, files)
	for i, name := range names {
		id := fmt.Sprintf("chain-%d", i)
		info := api.TaskInfo{ID: id, Cmd: "echo leaked; echo leaked >&2",
			Fetch:     []api.FetchURI{{URI: srv.URL + "/" + name + ".tar.gz", Extract: true}},
			Resources: resources.Resources{CPUs: 0.1, MemBytes: 16 << 20}}
		if code, body := ta.do(t, http.MethodPost, "/api/v1/tasks", info); code != http.StatusAccepted {
			t.Fatalf("launch: %d %s", code, body)
		}
		st := waitTask(t, ta.Agent, id, 30*time.Second, func(s api.TaskStatus) bool { return s.State.IsTerminal() }, "terminal")
		if st.State != api.TaskFailed || st.Reason != api.ReasonFetchFailed || !strings.Contains(st.Message, "resolves outside the sandbox") {
			t.Errorf("%s: ended %s (%s: %s), want the fetch refused", name, st.State, st.Reason, st.Message)
		}
		if names := dirEntries(t, outside); len(names) != 0 {
			t.Fatalf("%s: the agent wrote outside the sandbox, in %s: %v", name, outside, names)
		}
	}
}

// A running task may replace its log files with symlinks; log rotation,
// run by the agent as root, must not follow them to truncate, overwrite
// or chown a file outside the sandbox.
func TestAPILogRotationDoesNotFollowSymlinks(t *testing.T) {
	outside := t.TempDir()
	precious := bytes.Repeat([]byte("precious\n"), 512)
	v1, v2 := filepath.Join(outside, "v1"), filepath.Join(outside, "v2")
	for _, v := range []string{v1, v2} {
		if err := os.WriteFile(v, precious, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ta := startAgent(t, func(c *Config) {
		c.Executor.LogMaxBytes = 1024
		c.Executor.LogMaxFiles = 1
		c.Executor.DiskInterval = 50 * time.Millisecond
	})
	openHarvest(t, ta)
	cmd := fmt.Sprintf("rm -f stdout && ln -s %s stdout && ln -s %s stderr.1 && head -c 5000 /dev/zero >&2 && touch written && exec sleep 600", v1, v2)
	info := api.TaskInfo{ID: "rot", Cmd: cmd, Resources: resources.Resources{CPUs: 0.1, MemBytes: 16 << 20}}
	if code, body := ta.do(t, http.MethodPost, "/api/v1/tasks", info); code != http.StatusAccepted {
		t.Fatalf("launch: %d %s", code, body)
	}
	waitTask(t, ta.Agent, "rot", 30*time.Second, isState(api.TaskRunning), "running")
	v, _ := ta.exec.Task("rot")
	// Once the task has written its 5000 bytes, the rotation of stderr
	// (back under 5000) shows that a check ran after the links were
	// made: stdout comes first in every check.
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, func() bool {
		if _, err := os.Stat(filepath.Join(v.Sandbox, "written")); err != nil {
			return false
		}
		fi, err := os.Lstat(filepath.Join(v.LogDir, "stderr"))
		return err == nil && fi.Mode().IsRegular() && fi.Size() < 5000
	}, "stderr rotated")
	if st, _ := ta.exec.Task("rot"); st.Status.State.IsTerminal() {
		t.Logf("task ended: %+v", st.Status)
	}
	for _, f := range []string{v1, v2} {
		b, err := os.ReadFile(f)
		if err != nil || !bytes.Equal(b, precious) {
			t.Errorf("%s outside the sandbox changed by log rotation: %d bytes (%v)", f, len(b), err)
		}
	}
	if names := dirEntries(t, outside); len(names) != 2 {
		t.Errorf("files outside the sandbox: %v", names)
	}
}

// A kill while the artifact is still downloading stops the fetch at once:
// the task ends killed, never started.
func TestAPIKillDuringFetch(t *testing.T) {
	requested := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		_, _ = w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		select {
		case requested <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	ta := startAgent(t, nil)
	info := api.TaskInfo{ID: "slow", Cmd: "true", Fetch: []api.FetchURI{{URI: srv.URL + "/slow.bin"}},
		Resources: resources.Resources{CPUs: 0.1, MemBytes: 16 << 20}}
	if code, body := ta.do(t, http.MethodPost, "/api/v1/tasks", info); code != http.StatusAccepted {
		t.Fatalf("launch: %d %s", code, body)
	}
	select {
	case <-requested:
	case <-time.After(30 * time.Second):
		t.Fatal("the artifact was never requested")
	}
	if v, _ := ta.exec.Task("slow"); v.Status.State != api.TaskStaging {
		t.Fatalf("task %s while its artifact downloads, want %s", v.Status.State, api.TaskStaging)
	}
	start := time.Now()
	if code, body := ta.do(t, http.MethodPost, "/api/v1/tasks/slow/kill", `{"message":"changed my mind"}`); code != http.StatusAccepted {
		t.Fatalf("kill: %d %s", code, body)
	}
	st := waitTask(t, ta.Agent, "slow", 10*time.Second, func(s api.TaskStatus) bool { return s.State.IsTerminal() }, "terminal")
	if st.State != api.TaskKilled || st.Reason != api.ReasonKilledByRequest || st.Message != "changed my mind" {
		t.Fatalf("ended %s (%s: %s), want killed by request", st.State, st.Reason, st.Message)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the kill took %v while fetching", d)
	}
	if v, _ := ta.exec.Task("slow"); !v.Started.IsZero() {
		t.Errorf("the task started at %v", v.Started)
	}
	if children, err := ta.h.Children(ta.cfg.BatchCgroup); err != nil || len(children) != 0 {
		t.Errorf("task cgroups after a kill in staging: %v (%v)", children, err)
	}
}
