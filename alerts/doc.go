// Package alerts holds headroom's Prometheus rules: recording rules
// (headroom-rules.yaml), alerting rules (headroom-alerts.yaml) and their
// promtool unit tests (*_test.yaml). Every alert is explained in
// docs/runbooks.md, which each alert's runbook_url points to.
//
// The files are embedded so that tools (a packager, an operator that loads
// rules into Prometheus) can ship exactly the rules the tests checked.
//
// Load both rule files into Prometheus; the alerts read the recording rules.
// The scrape jobs are expected to be called headroom-agent, headroom-master
// and headroom-monitor (matched as regular expressions, so a prefix or
// suffix is fine).
package alerts

import (
	"embed"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Files holds the rule files and their promtool unit tests, at the root.
//
//go:embed *.yaml
var Files embed.FS

// RuleFiles returns the names of the rule files in Files (not the tests),
// sorted.
func RuleFiles() []string { return list(func(n string) bool { return !isTest(n) }) }

// TestFiles returns the names of the promtool unit test files in Files,
// sorted.
func TestFiles() []string { return list(isTest) }

// Rules returns the content of the rule file name.
func Rules(name string) ([]byte, error) { return fs.ReadFile(Files, name) }

func isTest(name string) bool { return strings.HasSuffix(name, "_test.yaml") }

func list(keep func(string) bool) []string {
	entries, err := fs.ReadDir(Files, ".")
	if err != nil {
		// The embedded root always exists.
		panic(err)
	}
	var out []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && path.Ext(n) == ".yaml" && keep(n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
