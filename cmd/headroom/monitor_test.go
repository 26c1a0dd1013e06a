package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/internal/testutil"
)

// buildBinary builds headroom once per test binary run into a temp dir.
func buildBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "headroom")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestMonitorCommand runs the real binary on this host: it serves the
// harvestable metrics, promtool finds the exposition clean, it records
// samples, and SIGTERM stops it cleanly.
func TestMonitorCommand(t *testing.T) {
	promtool := testutil.NeedCommand(t, "promtool", "prometheus")
	bin := buildBinary(t)
	addr := freeAddr(t)
	record := filepath.Join(t.TempDir(), "samples.csv")
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "monitor", "--listen", addr, "--record", record, "--service", "self=comm:^headroom$")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	base := "http://" + addr
	var metrics string
	testutil.Eventually(t, 15*time.Second, 100*time.Millisecond, func() bool {
		code, body := get(t, base+"/metrics")
		metrics = body
		return code == http.StatusOK && strings.Contains(body, "headroom_usage_cpu_cores{")
	}, "a full sample exported on /metrics")
	for _, want := range []string{
		"headroom_harvestable_cpu_cores ", "headroom_harvestable_memory_bytes ",
		"headroom_capacity_cpu_cores ", `headroom_harvestable_bound_reason{reason="reserve",resource="cpu"}`,
		`headroom_reservation_changes_total{direction="down",resource="cpu"}`,
		`headroom_service_cpu_cores{service="self"}`, "headroom_build_info{",
		`headroom_monitor_sample_duration_seconds_bucket{kind="fast"`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = strings.NewReader(metrics)
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	if code, body := get(t, base+"/"); code != http.StatusOK || !strings.Contains(body, "harvestable") {
		t.Errorf("landing page: %d %q", code, body)
	}
	if code, body := get(t, base+"/api/v1/estimate"); code != http.StatusOK || !strings.Contains(body, `"harvestable_cpus"`) {
		t.Errorf("estimate API: %d %q", code, body)
	}
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("healthz: %d", code)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("no exit 15 s after SIGTERM\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "monitor stopped") {
		t.Errorf("no clean-stop log line:\n%s", stderr.String())
	}
	data, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "time,kind,") {
		t.Fatalf("recording has %d lines, header %q", len(lines), lines[0])
	}
}

func TestPolicyCheckCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(args ...string) (string, error) {
		root := newRootCommand()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(args)
		err := root.ExecuteContext(context.Background())
		return out.String(), err
	}
	out, err := run("policy", "check")
	if err != nil || !strings.Contains(out, "max_utilization") {
		t.Fatalf("defaults: %v\n%s", err, out)
	}
	good := write("good.yaml", "reserve:\n  cpus: 2\n")
	out, err = run("policy", "check", good)
	if err != nil || !strings.Contains(out, "cpus: 2") {
		t.Fatalf("good file: %v\n%s", err, out)
	}
	tests := []struct{ name, body, want string }{
		{"unknown field", "predictor:\n  windw: 30s\n", "predictor.windw"},
		{"negative reserve", "reserve:\n  cpus: -1\n", "reserve.cpus"},
		{"utilization above 1", "max_utilization:\n  cpu: 1.5\n", "max_utilization.cpu"},
		{"percentile above 100", "predictor:\n  cpu_percentile: 120\n", "predictor.cpu_percentile"},
		{"zero interval", "sampling:\n  interval: 0s\n", "sampling.interval"},
		{"malformed yaml", "reserve: [\n", "yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run("policy", "check", write(strings.ReplaceAll(tc.name, " ", "_")+".yaml", tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to name %q", err, tc.want)
			}
		})
	}
	if _, err := run("policy", "check", filepath.Join(dir, "missing.yaml")); err == nil {
		t.Fatal("a missing file was accepted")
	}
}

func TestServiceFlag(t *testing.T) {
	for _, bad := range []string{"web", "web=", "=comm:x", "web=comm:", "web=pid:1", "web=comm:("} {
		if _, err := parseServices([]string{bad}, nil); err == nil {
			t.Errorf("--service %q accepted", bad)
		} else if !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
			t.Errorf("--service %q: error %v does not name the value", bad, err)
		}
	}
	specs, err := parseServices([]string{"web=comm:^nginx$", "db=cmdline:postgres"}, nil)
	if err != nil || len(specs) != 2 || specs[0].ProcessName != "^nginx$" || specs[1].Cmdline != "postgres" {
		t.Fatalf("good services: %+v, %v", specs, err)
	}
}
