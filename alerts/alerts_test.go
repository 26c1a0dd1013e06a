package alerts

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/headroom-dev/headroom/exporter"
	"github.com/headroom-dev/headroom/internal/testutil"
)

const runbookBase = "https://github.com/headroom-dev/headroom/blob/main/docs/runbooks.md#"

// ruleFile is the subset of the Prometheus rule file format checked here.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// testFile is the subset of the promtool unit test format checked here.
type testFile struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		AlertRuleTests []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels map[string]string `yaml:"exp_labels"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func TestFilesEmbedded(t *testing.T) {
	rules, tests := RuleFiles(), TestFiles()
	if len(rules) == 0 || len(tests) == 0 {
		t.Fatalf("rule files %v, test files %v: want both", rules, tests)
	}
	// Every rule file has its own test file, and the embedded copies are
	// the files on disk.
	for _, r := range rules {
		want := strings.TrimSuffix(r, ".yaml") + "_test.yaml"
		if !contains(tests, want) {
			t.Errorf("%s has no unit test file %s", r, want)
		}
	}
	for _, n := range append(rules, tests...) {
		emb, err := Rules(n)
		if err != nil {
			t.Fatal(err)
		}
		disk, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(emb, disk) {
			t.Errorf("embedded %s differs from the file", n)
		}
	}
}

// TestPromtoolCheck runs promtool check rules on every rule file.
func TestPromtoolCheck(t *testing.T) {
	promtool := testutil.NeedCommand(t, "promtool", "prometheus")
	for _, f := range RuleFiles() {
		t.Run(f, func(t *testing.T) {
			out, err := exec.Command(promtool, "check", "rules", f).CombinedOutput()
			if err != nil {
				t.Fatalf("promtool check rules %s: %v\n%s", f, err, out)
			}
		})
	}
}

// TestPromtoolUnit runs promtool test rules on every unit test file.
func TestPromtoolUnit(t *testing.T) {
	promtool := testutil.NeedCommand(t, "promtool", "prometheus")
	for _, f := range TestFiles() {
		t.Run(f, func(t *testing.T) {
			out, err := exec.Command(promtool, "test", "rules", f).CombinedOutput()
			if err != nil {
				t.Fatalf("promtool test rules %s: %v\n%s", f, err, out)
			}
		})
	}
}

var (
	alertName  = regexp.MustCompile(`^Headroom[A-Z][A-Za-z0-9]*$`)
	recordName = regexp.MustCompile(`^headroom:[a-z0-9_]+:[a-z0-9_]+$`)
	heading    = regexp.MustCompile(`(?m)^## (\S+)\s*$`)
	severities = map[string]bool{"critical": true, "warning": true, "info": true}
)

// alerts parses every rule file and returns the alerting rules by name.
func alerts(t *testing.T) map[string]rule {
	t.Helper()
	out := map[string]rule{}
	for _, f := range RuleFiles() {
		b, err := Rules(f)
		if err != nil {
			t.Fatal(err)
		}
		var rf ruleFile
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&rf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				switch {
				case r.Record != "":
					if !recordName.MatchString(r.Record) {
						t.Errorf("%s: recording rule %q is not named headroom:<what>:<how>", f, r.Record)
					}
				case r.Alert != "":
					if _, dup := out[r.Alert]; dup {
						t.Errorf("%s: alert %s defined twice", f, r.Alert)
					}
					out[r.Alert] = r
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no alerting rules found")
	}
	return out
}

// TestAlertConventions checks names, severities, annotations and that each
// runbook_url points to a section of docs/runbooks.md.
func TestAlertConventions(t *testing.T) {
	runbook, err := os.ReadFile(filepath.Join("..", "docs", "runbooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(string(runbook), -1) {
		sections[m[1]] = true
	}
	for name, r := range alerts(t) {
		t.Run(name, func(t *testing.T) {
			if !alertName.MatchString(name) {
				t.Errorf("name is not CamelCase starting with Headroom")
			}
			if s := r.Labels["severity"]; !severities[s] {
				t.Errorf("severity %q, want critical, warning or info", s)
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("annotation %s missing", a)
				}
			}
			if d := r.Annotations["description"]; !strings.Contains(d, "{{") {
				t.Errorf("description %q is not templated", d)
			}
			url := r.Annotations["runbook_url"]
			anchor, ok := strings.CutPrefix(url, runbookBase)
			if !ok {
				t.Errorf("runbook_url %q does not start with %s", url, runbookBase)
			}
			if anchor != strings.ToLower(name) {
				t.Errorf("runbook_url anchor %q, want %q", anchor, strings.ToLower(name))
			}
			if !sections[name] {
				t.Errorf("docs/runbooks.md has no '## %s' section", name)
			}
		})
	}
}

// TestRunbookSections checks the runbook has no section for an alert that
// does not exist (a renamed alert leaves its old section behind).
func TestRunbookSections(t *testing.T) {
	runbook, err := os.ReadFile(filepath.Join("..", "docs", "runbooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	all := alerts(t)
	for _, m := range heading.FindAllStringSubmatch(string(runbook), -1) {
		if strings.HasPrefix(m[1], "Headroom") {
			if _, ok := all[m[1]]; !ok {
				t.Errorf("docs/runbooks.md has a section for unknown alert %s", m[1])
			}
		}
	}
}

// TestEveryAlertTested checks every alert appears in a unit test, at least
// once expected to fire and once expected to stay quiet.
func TestEveryAlertTested(t *testing.T) {
	tested, fired, quiet := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, f := range TestFiles() {
		b, err := Rules(f)
		if err != nil {
			t.Fatal(err)
		}
		var tf testFile
		if err := yaml.Unmarshal(b, &tf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, tc := range tf.Tests {
			for _, at := range tc.AlertRuleTests {
				tested[at.Alertname] = true
				if len(at.ExpAlerts) > 0 {
					fired[at.Alertname] = true
				} else {
					quiet[at.Alertname] = true
				}
				for _, ea := range at.ExpAlerts {
					if n := ea.ExpLabels["alertname"]; n != "" {
						tested[n] = true
					}
				}
			}
		}
	}
	all := alerts(t)
	for name := range all {
		if !tested[name] {
			t.Errorf("alert %s appears in no unit test", name)
			continue
		}
		if !fired[name] {
			t.Errorf("alert %s is never expected to fire in a unit test", name)
		}
		if !quiet[name] {
			t.Errorf("alert %s is never expected to stay quiet in a unit test", name)
		}
	}
	for name := range tested {
		if _, ok := all[name]; !ok {
			t.Errorf("unit tests name unknown alert %s", name)
		}
	}
}

var metricName = regexp.MustCompile(`\bheadroom_[a-z0-9_]+`)

// TestMetricsCatalogued checks every headroom metric the rules read is in
// the exporter's catalogue (histograms with their _bucket, _sum, _count).
func TestMetricsCatalogued(t *testing.T) {
	known := map[string]bool{}
	for _, m := range exporter.Catalogue() {
		known[m.Name] = true
		if m.Type == exporter.Histogram {
			for _, sfx := range []string{"_bucket", "_sum", "_count"} {
				known[m.Name+sfx] = true
			}
		}
	}
	for _, f := range RuleFiles() {
		b, err := Rules(f)
		if err != nil {
			t.Fatal(err)
		}
		var rf ruleFile
		if err := yaml.Unmarshal(b, &rf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				for _, name := range metricName.FindAllString(r.Expr, -1) {
					if !known[name] {
						t.Errorf("%s: rule %s%s reads %s, which is not in exporter/catalogue.go", f, r.Alert, r.Record, name)
					}
				}
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
