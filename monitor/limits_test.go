package monitor

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/headroom-dev/headroom/internal/httpserver"
	"github.com/headroom-dev/headroom/internal/testutil"
	"github.com/headroom-dev/headroom/monitor/estimate"
	"github.com/headroom-dev/headroom/monitor/estimate/estimatetest"
)

// TestEveryRouteLimitsBodiesAndMethods: on every route of the monitor an
// oversized body is 413 naming the limit and any other method 405 with
// Allow.
func TestEveryRouteLimitsBodiesAndMethods(t *testing.T) {
	srv := httptest.NewServer(guardedMonitor(t))
	t.Cleanup(srv.Close)
	testutil.CheckRoutes(t, srv.URL, httpserver.DefaultLimits.MaxBodyBytes, []testutil.Route{
		{Method: "GET", Path: "/metrics"},
		{Method: "GET", Path: "/"},
		{Method: "GET", Path: "/api/v1/estimate"},
		{Method: "GET", Path: "/healthz"},
	})
}

// guardedMonitor is a monitor with one full sample behind the server's
// limits, every route of it served as the real listener does.
func guardedMonitor(t testing.TB) http.Handler {
	t.Helper()
	clock := clockwork.NewFakeClockAt(estimatetest.Start())
	m, err := New(Config{Sampler: &scriptedSampler{}, Policy: estimate.DefaultPolicy(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	m.Step(KindFull)
	clock.Advance(time.Second)
	return httpserver.Guard(m.Routes(promhttp.HandlerFor(prometheus.NewRegistry(), promhttp.HandlerOpts{})), httpserver.Limits{})
}
