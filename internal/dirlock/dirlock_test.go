package dirlock

import (
	"errors"
	"fmt"
	"os"
	"testing"
)

func TestAcquireExcludesAndNamesTheHolder(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir, "data dir", "master")
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file description: a second open in
	// the same process conflicts as another process would.
	_, err = Acquire(dir, "data dir", "master")
	var inUse *InUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("second Acquire: %v, want InUseError", err)
	}
	want := fmt.Sprintf("data dir %s is in use by another headroom master (pid %d)", dir, os.Getpid())
	if err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(dir, "data dir", "master")
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	t.Cleanup(func() { l2.Release() })
}

func TestAcquireMissingDir(t *testing.T) {
	_, err := Acquire(t.TempDir()+"/nope", "work dir", "agent")
	if err == nil {
		t.Fatal("locked a missing directory")
	}
}
