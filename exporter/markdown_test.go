package exporter

import (
	"os"
	"path/filepath"
	"testing"
)

// docs/metrics.md is generated from the catalogue and must stay equal to it.
func TestMetricsDocUpToDate(t *testing.T) {
	path := filepath.Join("..", "docs", "metrics.md")
	want := Markdown()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./exporter -update writes it)", err)
	}
	if string(got) != want {
		t.Fatal("docs/metrics.md is stale: run go test ./exporter -update")
	}
	for _, m := range Catalogue() {
		found := false
		for _, c := range components {
			found = found || c.name == m.Component
		}
		if !found {
			t.Errorf("%s: component %q is not documented", m.Name, m.Component)
		}
	}
}
