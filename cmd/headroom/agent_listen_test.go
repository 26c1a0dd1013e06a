package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/internal/testutil"
)

func TestDefaultAgentListen(t *testing.T) {
	for _, tc := range []struct{ advertise, want, err string }{
		{"", "node-7:5051", ""},
		{"http://10.1.2.3:6000", "10.1.2.3:6000", ""},
		{"https://agent.example", "agent.example:443", ""},
		{"http://[::1]:7000/", "[::1]:7000", ""},
		{"ftp://x:1", "", "--advertise-url"},
		{"not a url", "", "--advertise-url"},
	} {
		got, err := defaultAgentListen(tc.advertise, "node-7")
		if got != tc.want || (err == nil) != (tc.err == "") {
			t.Errorf("defaultAgentListen(%q) = %q, %v; want %q (error %q)", tc.advertise, got, err, tc.want, tc.err)
		}
	}
}

// Without --listen the agent binds only the address it advertises: the
// API answers there and not on another address of the host.
func TestAgentListensOnItsAdvertisedAddress(t *testing.T) {
	testutil.NeedRoot(t)
	_, port, _ := net.SplitHostPort(freeAddr(t))
	tag := fmt.Sprintf("headroom-test-listen-%d", os.Getpid())
	f := &agentFlags{advertise: "http://127.0.0.1:" + port, workDir: filepath.Join(t.TempDir(), "work"),
		hostname: "listen-test", cpuFloor: 0.1, user: "-", allowRoot: true, cleanupOnStop: true}
	f.mon = monitorFlags{procRoot: "/proc", cgroupRoot: "/sys/fs/cgroup", batchCgroup: tag + "/batch"}
	ctx, cancel := context.WithCancel(context.Background())
	bound := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- runAgent(ctx, f, slog.New(slog.NewTextHandler(io.Discard, nil)), func(a net.Addr) { bound <- a })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	select {
	case a := <-bound:
		if a.String() != "127.0.0.1:"+port {
			t.Fatalf("agent bound %s, want 127.0.0.1:%s", a, port)
		}
	case err := <-done:
		t.Fatalf("agent stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("agent not serving within 30 s")
	}
	if code, _ := get(t, "http://127.0.0.1:"+port+"/healthz"); code != 200 {
		t.Errorf("healthz on the advertised address: %d", code)
	}
	// Another loopback address of the host: nothing listens there.
	if c, err := net.DialTimeout("tcp", "127.0.0.2:"+port, 5*time.Second); err == nil {
		c.Close()
		t.Error("the agent also answers on 127.0.0.2: it listens on every interface")
	}
}
