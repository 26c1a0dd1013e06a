package sampler

import (
	"fmt"
	"os"
	"testing"

	"github.com/headroom-dev/headroom/internal/cgroup"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// The batch cgroup appears and disappears under an observe-only monitor:
// it reads zero while absent, real counters while present.
func TestLazyCgroupFollowsTheGroup(t *testing.T) {
	testutil.NeedRoot(t)
	h, err := cgroup.Open(cgroup.Config{})
	testutil.Need(t, err == nil, fmt.Sprintf("a cgroup hierarchy at %s: %v", cgroup.DefaultRoot, err))
	path := fmt.Sprintf("headroom-test-lazy-%d", os.Getpid())
	l := NewCgroupReader(h, path)
	if v, err := l.CPUUsage(); v != 0 || err != nil {
		t.Fatalf("absent group: %v, %v", v, err)
	}
	if v, err := l.MemoryWorkingSet(); v != 0 || err != nil {
		t.Fatalf("absent group: %v, %v", v, err)
	}
	g, err := h.Create(path, cgroup.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Kill(); _ = g.Delete() })
	if _, err := l.CPUUsage(); err != nil {
		t.Fatalf("present group: %v", err)
	}
	if l.g == nil {
		t.Fatal("the group was not loaded once it existed")
	}
	if err := g.Delete(); err != nil {
		t.Fatal(err)
	}
	if v, err := l.CPUUsage(); v != 0 || err != nil {
		t.Fatalf("removed group: %v, %v", v, err)
	}
}
