// Package dashboards generates headroom's Grafana dashboards.
//
// The dashboards are code so they cannot drift from the metrics: every query
// uses a metric of the exporter catalogue (exporter.Catalogue, plus
// Prometheus's own up), and the tests fail when a query names anything
// else, when a rate window is not $__rate_interval, or when the generated
// files under json/ differ from what the code builds. Operators either import
// json/*.json, or run
//
//	headroom dashboards --out DIR
//	headroom dashboards --grafana-url URL --token-file F [--folder-uid X]
//
// which writes the same files or posts them to Grafana's
// POST /api/dashboards/db (overwrite: a new version replaces the old one).
//
// # Dashboards
//
//   - headroom-fleet: harvestable vs. batch vs. business CPU and memory across
//     hosts, harvest efficiency, top hosts, what bounds the harvest.
//   - headroom-host: one host in detail: usage by class, prediction, estimate
//     and bound reason, applied quota and limit, throttling, PSI, evictions,
//     reservation changes.
//   - headroom-master: leader, agents and tasks by state, offers, allocation
//     latency, DRF shares, launches and terminations.
//   - headroom-churn: reservation changes per hour, evictions, OOM kills and
//     the quality of service on both sides.
//
// # Grafana version
//
// The minimum is Grafana 10.0. The JSON declares schemaVersion 39 and every
// panel pluginVersion 10.0.0, so Grafana runs none of its migrations over
// it, and uses only panel types Grafana 10 draws natively: timeseries, stat,
// table, bargauge (text is allowed; no angular graph or singlestat, which
// Grafana 11 no longer loads).
//
// # Conventions
//
//   - Variables: datasource (type datasource, Prometheus), then job and
//     instance (label_values over headroom_build_info, which every component
//     exports; multi-value, with All as .*). Every query filters with
//     job=~"$job",instance=~"$instance"; every panel and target uses the data
//     source ${datasource}.
//   - Rates: every rate(), irate() and increase() window is
//     $__rate_interval, which Grafana sizes to the scrape interval and the
//     step so no zoom level draws gaps, except the "per hour" panels, whose
//     fixed [1h] window is their point (churn budgets are per hour).
//     Event counters are shown per minute (60 * rate, unit cpm): per second
//     they are unreadably small.
//   - Units: every panel sets fieldConfig.defaults.unit. Grafana has no
//     "cores" unit, so CPU uses "short" and says cores in the title and the
//     axis label; bytes "bytes", seconds "s", ratios "percentunit", counts
//     "none".
//   - Every panel has a description (Grafana shows it on hover), a gridPos on
//     the 24-column grid, and the dashboards have stable uids (headroom-*),
//     the tag headroom, and are editable.
//
// # The Grafana SDK and its gaps
//
// Dashboards and panels are built with github.com/grafana-tools/sdk types
// (sdk.NewBoard, sdk.NewTimeseries, sdk.NewStat, sdk.NewTable, sdk.FieldConfig,
// sdk.TemplateVar). The library predates parts of the Grafana 10 model, so
// one documented post-processing step (grafana10 in builder.go) edits the
// marshalled JSON: it drops the legacy keys the sdk always writes (rows,
// span, renderer, angular stat and table settings), adds the fieldConfig
// that the sdk's stat and table panels have no slot for, and sets
// pluginVersion and the table transformations. The result is marshalled from
// maps, whose keys encoding/json sorts, so the output is deterministic.
//
// Regenerate the files after changing a dashboard:
//
//	go test ./dashboards/ -run TestGenerated -update
package dashboards

//go:generate go test -run TestGenerated -update
