package estimate

import (
	"math"
	"testing"
	"time"
)

// Growth waits until the harvest forgone reaches deadband × grow_after: a
// target one deadband above waits grow_after, one six deadbands above a
// sixth of it. Then it goes all the way to the target, max_step per
// interval, and never before the start delay is over.
func TestGrowthWaitsForForgoneHarvest(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	const dead, maxStep = 1.0, 2.0
	growAfter, interval := 60*time.Second, 900*time.Millisecond
	run := func(gap float64, mayStart func(el time.Duration) bool) (start, done time.Duration, final float64) {
		var g growth
		cur, start, done := 10.0, time.Duration(-1), time.Duration(-1)
		for el := time.Duration(0); el <= 5*time.Minute; el += time.Second {
			next, pending := g.next(t0.Add(el), cur, 10+gap, dead, dead, maxStep, growAfter, interval, mayStart(el))
			if next > cur && start < 0 {
				start = el
			}
			cur = next
			if !pending && cur > 10 && done < 0 {
				done = el
			}
		}
		return start, done, cur
	}
	always := func(time.Duration) bool { return true }
	for _, tc := range []struct {
		gap       float64
		wantStart time.Duration
	}{{1.5, 40 * time.Second}, {6, 10 * time.Second}} {
		start, done, final := run(tc.gap, always)
		if start < tc.wantStart-time.Second || start > tc.wantStart+time.Second {
			t.Errorf("gap %v: growth started at %v, want about %v (deadband x grow_after / gap)", tc.gap, start, tc.wantStart)
		}
		if final != 10+tc.gap {
			t.Errorf("gap %v: grew to %v, want all the way to the target %v", tc.gap, final, 10+tc.gap)
		}
		if steps := int(math.Ceil(tc.gap / maxStep)); done != start+time.Duration(steps-1)*time.Second {
			t.Errorf("gap %v: growth took %v to %v, want %d steps of max_step", tc.gap, start, done, steps)
		}
	}
	// A gap within the deadband never grows.
	if start, _, _ := run(dead, always); start >= 0 {
		t.Errorf("a gap of one deadband grew at %v", start)
	}
	// Nothing grows before the start delay, however large the gap.
	if start, _, _ := run(6, func(el time.Duration) bool { return el >= growAfter }); start < growAfter {
		t.Errorf("grew at %v, before the start delay %v", start, growAfter)
	}
}

// A target above the deadband but within the business's noise (wait >
// dead) is not ignored: growth starts once wait × grow_after of harvest
// was forgone, later than a target one wait above would, never sooner.
func TestGrowthWithinNoiseWaitsLonger(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	const dead, wait, gap = 0.5, 4.0, 1.0 // target 1 core above: twice the deadband, a quarter of the wait
	growAfter := 60 * time.Second
	var g growth
	grewAt := time.Duration(-1)
	for el := time.Duration(0); el <= 10*time.Minute; el += time.Second {
		next, _ := g.next(t0.Add(el), 10, 10+gap, dead, wait, 1, growAfter, time.Second, true)
		if next > 10 {
			grewAt = el
			break
		}
	}
	want := time.Duration(wait / gap * float64(growAfter))
	if grewAt < want-time.Second || grewAt > want+time.Second {
		t.Fatalf("a target %.1f above grew after %s, want about %s (wait %.1f × grow_after / %.1f)", gap, grewAt, want, wait, gap)
	}
	// Within the deadband it never grows.
	g = growth{}
	for el := time.Duration(0); el <= 10*time.Minute; el += time.Second {
		if next, _ := g.next(t0.Add(el), 10, 10+dead/2, dead, wait, 1, growAfter, time.Second, true); next != 10 {
			t.Fatalf("grew to %.2f on a target within the deadband", next)
		}
	}
}
