package estimate

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

func TestDefaultPolicyIsValid(t *testing.T) {
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want func(*Policy)
	}{
		{"empty", "", func(*Policy) {}},
		{"comment only", "# nothing\n", func(*Policy) {}},
		{"reserve", "reserve:\n  cpus: 2\n  memory: 4GiB\n", func(p *Policy) { p.Reserve = ResourceAmount{CPUs: 2, Memory: 4 << 30} }},
		{"plain bytes", "reserve:\n  memory: 1048576\n", func(p *Policy) { p.Reserve.Memory = 1 << 20 }},
		{"durations", "sampling:\n  interval: 2s\n  fast_interval: 100ms\n", func(p *Policy) {
			p.Sampling = SamplingPolicy{Interval: model.Duration(2 * time.Second), FastInterval: model.Duration(100 * time.Millisecond)}
		}},
		{"nested", "grow:\n  max_step:\n    cpus: 0.5\n", func(p *Policy) { p.Grow.MaxStep.CPUs = 0.5 }},
		{"zero pressure disables", "pressure:\n  cpu_some_avg10: 0\n", func(p *Policy) { p.Pressure.CPUSomeAvg10 = 0 }},
		{"cpu error bound off", "predictor:\n  cpu_error_percentile: 0\n", func(p *Policy) { p.Predictor.CPUErrorPercentile = 0 }},
		{"cpu error bound", "predictor:\n  cpu_error_percentile: 99.5\n  cpu_error_half_life: 6h\n  cpu_error_prior: 0\n", func(p *Policy) {
			p.Predictor.CPUErrorPercentile, p.Predictor.CPUErrorHalfLife, p.Predictor.CPUErrorPrior = 99.5, model.Duration(6*time.Hour), 0
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePolicy([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			want := DefaultPolicy()
			tc.want(&want)
			if got != want {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

// Each bad policy is rejected with the field's path and a reason.
func TestParsePolicyRejects(t *testing.T) {
	tests := []struct {
		name, doc, path, reason string
	}{
		{"unknown field", "predictor:\n  windw: 30s\n", "predictor.windw", "unknown field"},
		{"unknown top-level field", "reserv:\n  cpus: 1\n", "reserv", "unknown field"},
		{"negative reserve cpus", "reserve:\n  cpus: -1\n", "reserve.cpus", ">= 0"},
		{"negative reserve memory", "reserve:\n  memory: -1GiB\n", "reserve.memory", "negative"},
		{"bad byte size", "reserve:\n  memory: lots\n", "reserve.memory", "byte size"},
		{"huge reserve", "reserve:\n  cpus: 1e9\n", "reserve.cpus", "more CPUs"},
		{"utilization above 1", "max_utilization:\n  cpu: 1.5\n", "max_utilization.cpu", "fraction"},
		{"utilization zero", "max_utilization:\n  memory: 0\n", "max_utilization.memory", "fraction"},
		{"percentile above 100", "predictor:\n  cpu_percentile: 120\n", "predictor.cpu_percentile", "0-100"},
		{"percentile negative", "predictor:\n  memory_percentile: -5\n", "predictor.memory_percentile", "0-100"},
		{"zero interval", "sampling:\n  interval: 0s\n", "sampling.interval", "positive"},
		{"zero fast interval", "sampling:\n  fast_interval: 0s\n", "sampling.fast_interval", "positive"},
		{"fast slower than full", "sampling:\n  interval: 1s\n  fast_interval: 2s\n", "sampling.fast_interval", "must not exceed"},
		{"bad duration", "degrade_after: soon\n", "degrade_after", "soon"},
		{"zero degrade_after", "degrade_after: 0s\n", "degrade_after", "positive"},
		{"zero half-life", "predictor:\n  half_life: 0s\n", "predictor.half_life", "positive"},
		{"error percentile 100", "predictor:\n  cpu_error_percentile: 100\n", "predictor.cpu_error_percentile", "[0, 100)"},
		{"error percentile negative", "predictor:\n  cpu_error_percentile: -1\n", "predictor.cpu_error_percentile", "[0, 100)"},
		{"zero error half-life", "predictor:\n  cpu_error_half_life: 0s\n", "predictor.cpu_error_half_life", "positive"},
		{"error prior above 1", "predictor:\n  cpu_error_prior: 1.5\n", "predictor.cpu_error_prior", "[0, 1]"},
		{"error prior negative", "predictor:\n  cpu_error_prior: -0.1\n", "predictor.cpu_error_prior", "[0, 1]"},
		{"error prior not a number", "predictor:\n  cpu_error_prior: some\n", "predictor.cpu_error_prior", "some"},
		{"string for number", "reserve:\n  cpus: two\n", "reserve.cpus", "two"},
		{"scalar for mapping", "grow: 5\n", "grow", "mapping"},
		{"watermark 1", "pressure:\n  memory_watermark: 1\n", "pressure.memory_watermark", "fraction"},
		{"shrink step 0", "pressure:\n  shrink_step: 0\n", "pressure.shrink_step", "fraction"},
		{"zero max step", "grow:\n  max_step:\n    cpus: 0\n", "grow.max_step.cpus", "> 0"},
		{"zero budget", "interference_budget: 0\n", "interference_budget", "(0, 0.5)"},
		{"budget one half", "interference_budget: 0.5\n", "interference_budget", "(0, 0.5)"},
		{"negative budget", "interference_budget: -0.01\n", "interference_budget", "(0, 0.5)"},
		{"budget not a number", "interference_budget: lots\n", "interference_budget", "lots"},
		{"malformed yaml", "reserve: [\n", "yaml", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tc.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("error %q does not name %q and %q", err, tc.path, tc.reason)
			}
		})
	}
}

func TestPolicyReportsEveryBadField(t *testing.T) {
	_, err := ParsePolicy([]byte("reserve:\n  cpus: -1\nmax_utilization:\n  cpu: 2\n"))
	if err == nil || !strings.Contains(err.Error(), "reserve.cpus") || !strings.Contains(err.Error(), "max_utilization.cpu") {
		t.Fatalf("want both fields named, got %v", err)
	}
}

// The effective policy printed by `policy check` parses back to itself.
func TestPolicyRoundTrip(t *testing.T) {
	p := DefaultPolicy()
	p.Reserve.Memory = 1536 << 20
	p.Grow.Deadband.Memory = 1000
	out, err := yaml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParsePolicy(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if back != p {
		t.Fatalf("round trip:\n%s\ngot %+v", out, back)
	}
}

// The documentation lists every policy field.
func TestPolicyDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/policy.md")
	if err != nil {
		t.Fatal(err)
	}
	out, _ := yaml.Marshal(DefaultPolicy())
	var tree map[string]any
	if err := yaml.Unmarshal(out, &tree); err != nil {
		t.Fatal(err)
	}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			path := joinPath(prefix, k)
			if sub, ok := v.(map[string]any); ok {
				walk(path, sub)
				continue
			}
			if !strings.Contains(string(doc), "`"+path+"`") {
				t.Errorf("docs/policy.md does not document `%s`", path)
			}
		}
	}
	walk("", tree)
}
