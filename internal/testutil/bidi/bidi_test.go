package bidi

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// The address is found in output that arrives in pieces, once, and every
// line is passed on whole.
func TestLineWriterFindsTheAddress(t *testing.T) {
	var lines []string
	w := &lineWriter{log: func(l string) { lines = append(lines, l) }, found: make(chan string, 1)}
	for _, p := range []string{"*** You are running in headless mode.\nWebDriver Bi", "Di listening on ws://127.0.0.1:4", "1234\nWebDriver BiDi listening on ws://127.0.0.1:9\n"} {
		if n, err := w.Write([]byte(p)); err != nil || n != len(p) {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	if got := <-w.found; got != "ws://127.0.0.1:41234" {
		t.Errorf("address %q, want ws://127.0.0.1:41234", got)
	}
	want := []string{"*** You are running in headless mode.", "WebDriver BiDi listening on ws://127.0.0.1:41234", "WebDriver BiDi listening on ws://127.0.0.1:9"}
	if !slices.Equal(lines, want) {
		t.Errorf("lines %q, want %q", lines, want)
	}
}

// A browser that exits at start is reported as soon as it has, not when
// the start's bound runs out.
func TestStartReportsABrowserThatExits(t *testing.T) {
	exe, err := exec.LookPath("false")
	if err != nil {
		t.Skip("no false(1) to stand for a browser that exits")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b, err := Start(ctx, Options{Exe: exe, Profile: t.TempDir()})
	if err == nil {
		b.Close()
		t.Fatal("Start succeeded with a browser that exits")
	}
	if !strings.Contains(err.Error(), "exited before it listened") || ctx.Err() != nil {
		t.Fatalf("Start: %v (bound: %v)", err, ctx.Err())
	}
}
