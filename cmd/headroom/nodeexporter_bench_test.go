package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/internal/testutil"
)

// BenchmarkMonitorVsNodeExporter runs `headroom monitor` at its default
// intervals and Debian's prometheus-node-exporter at its defaults side by
// side for HEADROOM_COST_SECONDS (60 s by default), each scraped once a
// second as Prometheus would, and reports each one's CPU seconds per hour
// and resident set, and the ratio of the monitor's CPU to node_exporter's.
// Whatever else runs on the machine weighs on both alike, so the ratio is
// the figure to compare across machines, not the absolute seconds.
func BenchmarkMonitorVsNodeExporter(b *testing.B) {
	neBin := testutil.NeedCommand(b, "prometheus-node-exporter", "prometheus-node-exporter")
	span := costSpan(b)
	bin := buildBinary(b)
	client := &http.Client{Timeout: 5 * time.Second}
	b.Cleanup(client.CloseIdleConnections)
	for range b.N {
		monAddr, neAddr := freeAddr(b), freeAddr(b)
		mon := startProc(b, bin, "monitor", "--listen", monAddr)
		// Its own port, so that a packaged instance already serving
		// :9100 neither conflicts nor gets measured instead.
		ne := startProc(b, neBin, "--web.listen-address="+neAddr)
		urls := []string{"http://" + monAddr + "/metrics", "http://" + neAddr + "/metrics"}
		for _, u := range urls {
			testutil.Eventually(b, 30*time.Second, 50*time.Millisecond, func() bool { return scrape(client, u) == nil },
				u+" never answered")
		}

		ctx, cancel := context.WithCancel(context.Background())
		var (
			wg       sync.WaitGroup
			scrapes  atomic.Int64
			mu       sync.Mutex
			failures int
			lastErr  error
		)
		for _, u := range urls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tick := time.NewTicker(time.Second)
				defer tick.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
					}
					scrapes.Add(1)
					if err := scrape(client, u); err != nil {
						mu.Lock()
						failures, lastErr = failures+1, err
						mu.Unlock()
					}
				}
			}()
		}
		// A few scrapes of warm-up: both have allocated what their
		// steady state needs before the measurement starts.
		time.Sleep(3 * time.Second)
		u, err := measureProcs(span, mon.cmd.Process.Pid, ne.cmd.Process.Pid)
		cancel()
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		if failures > 0 {
			b.Fatalf("%d of %d scrapes failed, last: %v", failures, scrapes.Load(), lastErr)
		}
		mon.stop(b)
		ne.stop(b)
		monU, neU := u[0], u[1]
		b.ReportMetric(monU.cpuSecondsPerHour(), "monitor-cpu-s/h")
		b.ReportMetric(monU.rssMiB(), "monitor-rss-MiB")
		b.ReportMetric(neU.cpuSecondsPerHour(), "node-exporter-cpu-s/h")
		b.ReportMetric(neU.rssMiB(), "node-exporter-rss-MiB")
		if neU.cpu > 0 {
			b.ReportMetric(monU.cpu.Seconds()/neU.cpu.Seconds(), "cpu-ratio")
		}
		b.ReportMetric(monU.rssMiB()/neU.rssMiB(), "rss-ratio")
	}
}

// scrape fetches url and reads the whole body, as a Prometheus scrape does.
func scrape(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
