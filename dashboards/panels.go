package dashboards

import "strings"

// Small helpers that keep the dashboard files readable: every query goes
// through m so the job/instance filter is never forgotten, and every
// rate window through rate/perMin so it is always $__rate_interval.

// m is metric name filtered by the job and instance variables and by the
// extra matchers given (`class="batch"`).
func m(name string, matchers ...string) string {
	return name + "{" + strings.Join(append([]string{sel}, matchers...), ",") + "}"
}

// rate is the per-second rate of a counter over $__rate_interval, the window
// Grafana sizes to the scrape interval and the step (never shorter than
// four scrapes), so no zoom level draws gaps or hides spikes.
func rate(name string, matchers ...string) string {
	return "rate(" + m(name, matchers...) + "[$__rate_interval])"
}

// perMin is a counter's rate in events per minute, for unitPerMin.
func perMin(by, name string, matchers ...string) string {
	return "60 * sum by (" + by + ") (" + rate(name, matchers...) + ")"
}

// perHour is the count of the last hour: the explicit [1h] window of the
// "per hour" panels, where a fixed window is the point.
func perHour(by, name string, matchers ...string) string {
	return "sum by (" + by + ") (increase(" + m(name, matchers...) + "[1h]))"
}

// sumBy aggregates a gauge.
func sumBy(by, expr string) string {
	if by == "" {
		return "sum(" + expr + ")"
	}
	return "sum by (" + by + ") (" + expr + ")"
}

func q(expr, legend string) query       { return query{expr: expr, legend: legend} }
func instant(expr, legend string) query { return query{expr: expr, legend: legend, instant: true} }

// timeseries, stat, table and bargauge describe panels of that kind.
func timeseries(title, unit string, w, h int, desc string, qs ...query) panel {
	p := panel{kind: kindTimeseries, title: title, unit: unit, w: w, h: h, desc: desc, queries: qs}
	if unit == unitCores {
		p.axisLabel = "cores"
	}
	return p
}

func stat(title, unit string, w int, desc string, qs ...query) panel {
	return panel{kind: kindStat, title: title, unit: unit, w: w, h: 4, desc: desc, queries: qs}
}

func table(title, unit string, w, h int, desc string, columns []string, qs ...query) panel {
	return panel{kind: kindTable, title: title, unit: unit, w: w, h: h, desc: desc, queries: qs, columns: columns}
}

func bargauge(title, unit string, w, h int, desc string, qs ...query) panel {
	return panel{kind: kindBarGauge, title: title, unit: unit, w: w, h: h, desc: desc, queries: qs}
}

// Modifiers, for the few panels that need more than the defaults.
func (p panel) stacked() panel             { p.stack = true; return p }
func (p panel) steps01() panel             { p.stepLegend = true; return p }
func (p panel) ratio() panel               { p.min, p.max = f64(0), f64(1); return p }
func (p panel) sparkline() panel           { p.graph = true; return p }
func (p panel) text(mode string) panel     { p.textMode = mode; return p }
func (p panel) thresholds(s ...step) panel { p.steps = s; return p }

// Threshold colours used by the stats.
var (
	// okIfZero: anything above zero needs a look.
	okIfZero = []step{{color: "green"}, {color: "red", value: 1}}
)
