package main

import (
	"context"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/headroom-dev/headroom/alerts"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/dashboards"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// scrapeNames returns the metric family names a target exposes, with the
// sample names of histograms (_bucket, _sum, _count) too.
func scrapeNames(t *testing.T, url string) map[string]bool {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	names := map[string]bool{}
	for name := range fams {
		names[name] = true
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			names[name+suffix] = true
		}
	}
	return names
}

// exprMetrics lists the metric names an expression selects, parsed with
// the PromQL parser.
func exprMetrics(t *testing.T, expr string) []string {
	t.Helper()
	e, err := parser.ParseExpr(expr)
	if err != nil {
		t.Fatalf("parsing %q: %v", expr, err)
	}
	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && vs.Name != "" {
			out = append(out, vs.Name)
		}
		return nil
	})
	return out
}

type ruleFile struct {
	Groups []struct {
		Rules []struct {
			Record string `yaml:"record"`
			Alert  string `yaml:"alert"`
			Expr   string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// Every metric a dashboard query or a rule expression uses exists in a real
// scrape of a running master and agent (the agent hosts the monitor).
func TestDashboardsAndRulesUseRealMetrics(t *testing.T) {
	c := newCluster(t)
	mAddr, aAddr := freeAddr(t), freeAddr(t)
	c.startMaster(mAddr)
	master := "http://" + mAddr
	var err error
	if c.client, err = agentproto.NewClient(master, c.token); err != nil {
		t.Fatal(err)
	}
	c.startAgentAt("agent-xcheck", master, aAddr, "--service", "self=comm:^headroom$")
	c.waitAgents(1)
	// A running task, a launch and a termination: the series that only
	// exist once work has run.
	app := `{"id":"/xcheck","cmd":"sleep 600","cpus":0.1,"mem":16,"instances":1}`
	if err := c.client.Do(context.Background(), http.MethodPost, "/v2/apps", []byte(app), nil); err != nil {
		t.Fatal(err)
	}
	var first []e2eTask
	testutil.Eventually(t, 60*time.Second, 200*time.Millisecond, func() bool {
		first = running(c.appTasks("xcheck"))
		return len(first) == 1
	}, "the app running")
	if err := c.client.Do(context.Background(), http.MethodPost, "/api/v1/tasks/"+first[0].ID+"/kill", nil, nil); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, 200*time.Millisecond, func() bool {
		a, m := scrapeNames(t, "http://"+aAddr+"/metrics"), scrapeNames(t, master+"/metrics")
		return a["headroom_usage_cpu_cores"] && a["headroom_task_memory_bytes"] && a["headroom_service_cpu_cores"] &&
			m["headroom_allocation_duration_seconds_bucket"] && m["headroom_task_terminations_total"]
	}, "the agent's and the master's metrics, task and service series included")
	// The real expositions are lint-clean (promlint via promtool).
	promtool := testutil.NeedCommand(t, "promtool", "prometheus")
	for _, target := range []string{"http://" + aAddr + "/metrics", master + "/metrics"} {
		code, body := get(t, target)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d", target, code)
		}
		check := exec.Command(promtool, "check", "metrics")
		check.Stdin = strings.NewReader(body)
		if out, err := check.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics on %s: %v\n%s", target, err, out)
		}
	}
	have := scrapeNames(t, "http://"+aAddr+"/metrics")
	for n := range scrapeNames(t, master+"/metrics") {
		have[n] = true
	}
	have["up"] = true // Prometheus's own

	var exprs []string
	exprs = append(exprs, dashboards.Queries()...)
	for _, name := range alerts.RuleFiles() {
		data, err := alerts.Rules(name)
		if err != nil {
			t.Fatal(err)
		}
		var rf ruleFile
		if err := yaml.Unmarshal(data, &rf); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				exprs = append(exprs, r.Expr)
				if r.Record != "" {
					have[r.Record] = true
				}
			}
		}
	}
	if len(exprs) < 50 {
		t.Fatalf("only %d expressions found", len(exprs))
	}
	var missing []string
	for _, e := range exprs {
		for _, name := range exprMetrics(t, e) {
			if !have[name] && !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
		}
	}
	if len(missing) > 0 {
		t.Fatalf("used by dashboards or rules but absent from a real scrape: %s", strings.Join(missing, ", "))
	}
}
