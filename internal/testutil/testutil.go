package testutil

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// InCI reports whether the tests run in CI, where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") != "" }

// Need skips the test when ok is false, giving why; in CI it fails instead,
// because CI runs as root on a machine that has every feature the tests use.
func Need(t testing.TB, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if InCI() {
		t.Fatalf("required in CI: %s", why)
	}
	t.Skipf("skipping: %s", why)
}

// NeedRoot needs euid 0.
func NeedRoot(t testing.TB) {
	t.Helper()
	Need(t, os.Geteuid() == 0, "needs root")
}

// NeedCommand returns the path of name. When it is missing and we are root,
// it installs the Debian package pkg first, as the test set-up of a fresh
// machine must; otherwise it skips (or fails in CI).
func NeedCommand(t testing.TB, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("apt-get"); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "sh", "-c", "apt-get update -qq && apt-get install -y -qq --no-install-recommends "+pkg)
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Logf("installing %s: %v\n%s", pkg, err, out)
			}
		}
	}
	p, err := exec.LookPath(name)
	Need(t, err == nil, name+" not found (Debian package "+pkg+")")
	return p
}

// Eventually polls cond every tick until it is true or timeout passes, and
// fails the test with msg then. It waits for a state, it does not time it.
func Eventually(t testing.TB, timeout, tick time.Duration, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %s", timeout, msg)
		}
		time.Sleep(tick)
	}
}
