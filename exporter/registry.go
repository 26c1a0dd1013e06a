package exporter

import (
	"net/http"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Version is the headroom version, set at build time with
// -ldflags "-X github.com/headroom-dev/headroom/exporter.Version=...".
// It is a link-time constant, never changed at run time.
var Version = "dev"

// NewRegistry returns a registry with the process and Go runtime collectors
// and headroom_build_info, ready for a component's own collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		buildInfo(),
	)
	return reg
}

func buildInfo() prometheus.Collector {
	revision := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	m, _ := Lookup("headroom_build_info")
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        m.Name,
		Help:        m.Help,
		ConstLabels: prometheus.Labels{"version": Version, "revision": revision, "goversion": runtime.Version()},
	})
	g.Set(1)
	return g
}

// Handler serves reg in the exposition format, with the handler's own
// errors counted on reg.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:          reg,
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	}))
}
