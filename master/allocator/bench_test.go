package allocator

import (
	"fmt"
	"runtime"
	"testing"
)

// benchCluster builds an allocator in which every agent has both pools
// free and no framework is filtered or suppressed: the cycle that makes
// the most offers. One framework in four refuses revocable resources, so
// most agents are split between two frameworks, and frameworks are spread
// over roles of ten.
func benchCluster(b *testing.B, agents, frameworks int) *Allocator {
	b.Helper()
	a, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	for i := range agents {
		err := a.AddAgent(Agent{
			ID:        fmt.Sprintf("agent-%06d", i),
			Hostname:  fmt.Sprintf("host-%06d", i),
			Revocable: res(float64(8+i%24), int64(16+i%48)),
			Dedicated: res(2, 4),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for i := range frameworks {
		if i%10 == 0 {
			if err := a.SetRole(fmt.Sprintf("role-%04d", i/10), float64(1+i%3), Quota{}); err != nil {
				b.Fatal(err)
			}
		}
		err := a.AddFramework(Framework{
			ID:        fmt.Sprintf("fw-%04d", i),
			Role:      fmt.Sprintf("role-%04d", i/10),
			Revocable: i%4 != 0,
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return a
}

type benchSize struct{ agents, frameworks int }

// benchSizes are the clusters of the benchmarks: Mesos's published
// 10,000 agents × 1,000 frameworks, and a larger fleet with fewer
// frameworks.
func benchSizes() []benchSize {
	return []benchSize{{10000, 1000}, {50000, 100}}
}

func BenchmarkAllocate(b *testing.B) {
	for _, size := range benchSizes() {
		b.Run(fmt.Sprintf("agents=%d/frameworks=%d", size.agents, size.frameworks), func(b *testing.B) {
			b.ReportAllocs()
			offers := 0
			for b.Loop() {
				b.StopTimer()
				a := benchCluster(b, size.agents, size.frameworks)
				// The previous iteration's cluster is garbage the master
				// would never have; collect it outside the measurement.
				runtime.GC()
				b.StartTimer()
				offers += len(a.Allocate(epoch()).Offers)
			}
			b.ReportMetric(float64(offers)/float64(b.N), "offers/op")
		})
	}
}

// BenchmarkAllocateSteady is the same worst case on a running allocator:
// every offer of the previous cycle times out, is rescinded, and
// everything is offered again.
func BenchmarkAllocateSteady(b *testing.B) {
	for _, size := range benchSizes() {
		b.Run(fmt.Sprintf("agents=%d/frameworks=%d", size.agents, size.frameworks), func(b *testing.B) {
			a := benchCluster(b, size.agents, size.frameworks)
			now := epoch()
			a.Allocate(now)
			// Building the cluster leaves garbage a running master would
			// have collected long ago; collect it before the measurement
			// rather than in its first iterations.
			runtime.GC()
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(a.cfg.OfferTimeout)
				res := a.Allocate(now)
				// The rotating start splits agents differently from one
				// cycle to the next, so the counts need not match.
				if len(res.Offers) < size.agents || len(res.Rescinds) < size.agents {
					b.Fatalf("cycle made %d offers and %d rescinds, want at least one of each per agent", len(res.Offers), len(res.Rescinds))
				}
			}
		})
	}
}
