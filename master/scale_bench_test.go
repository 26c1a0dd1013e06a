package master

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/master/store"
)

// benchMaster starts a leading master on an embedded etcd, served over
// real HTTP on loopback.
func benchMaster(b *testing.B) (*Master, string) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, store.Config{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	m, err := New(Config{Store: st, AdvertiseURL: url, HeartbeatInterval: 5 * time.Second,
		AgentTimeout: time.Hour, ElectionTTL: 2 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: m.Handler(nil)}
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Run(ctx) }()
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() {
		_ = srv.Close()
		cancel()
		<-done
		st.Close()
	})
	for !m.Leading() {
		time.Sleep(10 * time.Millisecond)
	}
	return m, url
}

func benchAgents() int {
	if s := os.Getenv("HEADROOM_BENCH_AGENTS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 10000
}

// BenchmarkMasterHeartbeats registers HEADROOM_BENCH_AGENTS agents (10,000
// by default) and sends heartbeats over HTTP from 64 connections, as the
// agents of a large cluster do every 5 s. It reports the heartbeat latency
// p99, the master's CPU time per heartbeat (×2,000 per second gives the CPU
// share at 10,000 agents every 5 s) and the heap in use.
func BenchmarkMasterHeartbeats(b *testing.B) {
	m, url := benchMaster(b)
	n := benchAgents()
	ids := make([]string, n)
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				resp, err := m.Register(context.Background(), agentproto.RegisterRequest{
					Hostname: fmt.Sprintf("host-%05d", i), URL: fmt.Sprintf("http://10.0.%d.%d:5051", i/250, i%250),
					Revocable: resources.Resources{CPUs: 8, MemBytes: 16 << 30},
				})
				if err != nil {
					b.Error(err)
					return
				}
				ids[i] = resp.AgentID
			}
		}()
	}
	wg.Wait()
	if b.Failed() {
		return
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	bodies := make([][]byte, n)
	for i, id := range ids {
		bodies[i], _ = json.Marshal(agentproto.Heartbeat{AgentID: id, Revocable: resources.Resources{CPUs: 8, MemBytes: 16 << 30}})
	}
	lat := make([]time.Duration, b.N)
	var cpu0 = cpuTime()
	b.ResetTimer()
	next.Store(0)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				a := i % n
				start := time.Now()
				resp, err := client.Post(url+"/api/v1/agents/"+ids[a]+"/heartbeat", "application/json", bytes.NewReader(bodies[a]))
				if err != nil {
					b.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("heartbeat: %s", resp.Status)
					return
				}
				lat[i] = time.Since(start)
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	cpu := cpuTime() - cpu0
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	// The process's CPU includes the load generator's side of HTTP.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/heartbeat")
	// Measured after registration, before the heartbeats (ResetTimer
	// would drop it if reported earlier).
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
}

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
