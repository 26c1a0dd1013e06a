package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/resources"
)

// masterBenchInterval is the heartbeat interval of the simulated agents,
// given to the master too so that it expects them at that pace.
const masterBenchInterval = 5 * time.Second

// masterBenchConns is how many heartbeats may be in flight at once: more
// than a master answering in a few milliseconds ever needs at these
// rates, so the generator does not hold the load back.
const masterBenchConns = 128

// BenchmarkMasterUnderAgents runs the real `headroom master` binary (with
// its embedded etcd) and simulates agents over HTTP on loopback: each
// registers, then heartbeats every 5 s as real agents do, the heartbeats
// spread evenly over the interval. Sizes come from HEADROOM_MASTER_AGENTS
// (comma-separated, default 10000,50000), the measured span from
// HEADROOM_MASTER_SECONDS (default 30 s). It reports, for the master
// process alone (read from /proc, so the load generator is not counted):
// its CPU in cores and in µs per heartbeat, its resident set, and the
// heartbeat latency seen by the agents. hb/s is the rate achieved, next to
// the target N/5 s: on a small machine the generator shares the cores with
// the master and may fall short at 50k.
func BenchmarkMasterUnderAgents(b *testing.B) {
	sizes := envSizes(b, "HEADROOM_MASTER_AGENTS", []int{10000, 50000})
	span := time.Duration(envPositive(b, "HEADROOM_MASTER_SECONDS", 30)) * time.Second
	bin := buildBinary(b)
	for _, n := range sizes {
		b.Run(fmt.Sprintf("agents=%d", n), func(b *testing.B) {
			for range b.N {
				masterUnderAgents(b, bin, n, span)
			}
		})
	}
}

func masterUnderAgents(b *testing.B, bin string, n int, span time.Duration) {
	addr := freeAddr(b)
	m := startProc(b, bin, "master", "--listen", addr, "--data-dir", b.TempDir(),
		"--heartbeat-interval", masterBenchInterval.String(), "--agent-timeout", "1h", "--election-ttl", "2s",
		// The simulated agents carry no credential.
		"--insecure")
	defer m.stop(b)
	base := "http://" + addr
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = masterBenchConns, masterBenchConns
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	waitLeading(b, client, base, m)

	// Registration, from as many connections as the heartbeats use.
	ids := make([]string, n)
	start := time.Now()
	err := parallel(masterBenchConns, n, func(i int) error {
		var resp agentproto.RegisterResponse
		err := simPostJSON(client, base+"/api/v1/agents/register", agentproto.RegisterRequest{
			Hostname: fmt.Sprintf("sim-%05d", i), URL: fmt.Sprintf("http://10.%d.%d.%d:5051", i>>16, (i>>8)&255, i&255),
			Version:    "bench",
			Attributes: map[string]string{"rack": fmt.Sprintf("r%d", i%40), "zone": fmt.Sprintf("z%d", i%3)},
			Revocable:  resources.Resources{CPUs: 8, MemBytes: 16 << 30},
			Dedicated:  resources.Resources{CPUs: 2, MemBytes: 4 << 30},
		}, &resp)
		ids[i] = resp.AgentID
		return err
	})
	if err != nil {
		b.Fatalf("registering %d agents: %v", n, err)
	}
	registered := time.Since(start)

	bodies := make([][]byte, n)
	for i, id := range ids {
		bodies[i], err = json.Marshal(agentproto.Heartbeat{AgentID: id,
			Revocable:  resources.Resources{CPUs: 8, MemBytes: 16 << 30},
			Dedicated:  resources.Resources{CPUs: 2, MemBytes: 4 << 30},
			Attributes: map[string]string{"rack": fmt.Sprintf("r%d", i%40), "zone": fmt.Sprintf("z%d", i%3)},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	// One round of heartbeats before measuring: the master's steady
	// state has every agent heard from, not a registry still filling.
	if _, err := heartbeatLoad(client, base, ids, bodies, masterBenchInterval); err != nil {
		b.Fatalf("warm-up heartbeats: %v", err)
	}

	pid := m.cmd.Process.Pid
	cpu0, err := procCPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	lat, err := heartbeatLoad(client, base, ids, bodies, span)
	if err != nil {
		b.Fatalf("heartbeats: %v", err)
	}
	wall := time.Since(t0)
	cpu1, err := procCPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	rss, err := procRSS(pid)
	if err != nil {
		b.Fatal(err)
	}
	cpu := cpu1 - cpu0
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(float64(n)/registered.Seconds(), "registrations/s")
	b.ReportMetric(float64(n)/masterBenchInterval.Seconds(), "hb-target/s")
	b.ReportMetric(float64(len(lat))/wall.Seconds(), "hb/s")
	b.ReportMetric(ms(nearestRank(lat, 50)), "p50-ms")
	b.ReportMetric(ms(nearestRank(lat, 99)), "p99-ms")
	b.ReportMetric(cpu.Seconds()/wall.Seconds(), "master-cores")
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(lat)), "master-cpu-µs/hb")
	b.ReportMetric(float64(rss)/(1<<20), "master-rss-MiB")
}

// heartbeatLoad sends every agent's heartbeat once per interval for span,
// open loop: each heartbeat is due at its own time, agents spread evenly
// over the interval, whether or not earlier ones have been answered (up to
// masterBenchConns in flight). It returns each heartbeat's latency, from
// the request being sent to the answer read.
func heartbeatLoad(client *http.Client, base string, ids []string, bodies [][]byte, span time.Duration) ([]time.Duration, error) {
	n := len(ids)
	rate := float64(n) / masterBenchInterval.Seconds()
	total := int(rate * span.Seconds())
	jobs := make(chan int, masterBenchConns)
	lat := make([]time.Duration, total)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range masterBenchConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range jobs {
				a := k % n
				t := time.Now()
				err := simPostBytes(client, base+"/api/v1/agents/"+ids[a]+"/heartbeat", bodies[a], nil)
				lat[k] = time.Since(t)
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("agent %d: %w", a, err)
					}
					mu.Unlock()
					cancel()
				}
			}
		}()
	}
	start := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	sent := 0
dispatch:
	for sent < total {
		due := min(total, int(rate*time.Since(start).Seconds())+1)
		for ; sent < due; sent++ {
			select {
			case jobs <- sent:
			case <-ctx.Done():
				break dispatch
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			break dispatch
		}
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return lat[:sent], nil
}

// waitLeading waits for the master to lead (its embedded etcd elected it).
func waitLeading(b *testing.B, client *http.Client, base string, m *proc) {
	b.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var st struct {
			Leading bool `json:"leading"`
		}
		resp, err := client.Get(base + "/api/v1/leader")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
		}
		if err == nil && st.Leading {
			return
		}
		select {
		case err := <-m.exited:
			m.exited <- err // for the cleanup's stop
			b.Fatalf("the master exited: %v\n%s", err, m.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("the master did not lead within 60 s (last: %v)\n%s", err, m.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// parallel runs f(0..n-1) from conns goroutines and returns the first
// error; the remaining calls are not made after one fails.
func parallel(conns, n int, f func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		next  int
		first error
	)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil
				mu.Unlock()
				if i >= n || stop {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// simPostJSON posts body as JSON and decodes a 2xx answer into out (when not
// nil).
func simPostJSON(client *http.Client, url string, body, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return simPostBytes(client, url, data, out)
}

// simPostBytes is simPostJSON with the body already encoded, so that the load
// generator spends no CPU re-encoding the same heartbeats.
func simPostBytes(client *http.Client, url string, data []byte, out any) error {
	resp, err := client.Post(url, "application/json", bytes.NewReader(data))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, bytes.TrimSpace(msg))
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("POST %s: %w", url, err)
	}
	return nil
}

// envSizes is the comma-separated list of positive integers in the
// environment variable name, or def when it is unset.
func envSizes(b *testing.B, name string, def []int) []int {
	b.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v <= 0 {
			b.Fatalf("%s=%q: want comma-separated positive integers", name, s)
		}
		out = append(out, v)
	}
	return out
}
