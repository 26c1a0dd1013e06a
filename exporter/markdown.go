package exporter

import (
	"fmt"
	"strings"
)

// components orders the documentation.
var components = []struct{ name, title, intro string }{
	{"all", "Every component", "Exported by the monitor, the agent and the master alike."},
	{"monitor", "Monitor", "Exported by `headroom monitor` and by every agent (which hosts the monitor)."},
	{"agent", "Agent", "Exported by `headroom agent`."},
	{"master", "Master", "Exported by `headroom master`. A standby exports only `headroom_master_leader` (0)."},
}

// Markdown renders the catalogue as docs/metrics.md. A test keeps the file
// equal to it, so the documentation cannot drift from the code.
func Markdown() string {
	var b strings.Builder
	b.WriteString(`# Metrics

Every metric headroom exports, generated from the catalogue in
` + "`exporter/catalogue.go`" + ` (` + "`go test ./exporter -update`" + ` rewrites this file). Every
component also exports the Go runtime and process metrics. Labels are bounded: per-host metrics carry no task ids, the app
label of task metrics is capped at 50 values per host.
`)
	for _, c := range components {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n| metric | type | unit | labels | meaning |\n|---|---|---|---|---|\n", c.title, c.intro)
		for _, m := range catalogue {
			if m.Component != c.name {
				continue
			}
			labels := "—"
			if len(m.Labels) > 0 {
				labels = "`" + strings.Join(m.Labels, "`, `") + "`"
			}
			unit := m.Unit
			if unit == "" {
				unit = "—"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", m.Name, m.Type, unit, labels, strings.ReplaceAll(m.Help, "|", "\\|"))
		}
	}
	return b.String()
}
