package estimate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/headroom-dev/headroom/internal/resources"
)

// Policy is how cautious the monitor is. Every field has a default (see
// DefaultPolicy and docs/policy.md); a policy file only names what it
// changes.
type Policy struct {
	Sampling       SamplingPolicy    `yaml:"sampling"`
	Reserve        ResourceAmount    `yaml:"reserve"`
	MaxUtilization UtilizationPolicy `yaml:"max_utilization"`
	Predictor      PredictorPolicy   `yaml:"predictor"`
	Grow           GrowPolicy        `yaml:"grow"`
	Pressure       PressurePolicy    `yaml:"pressure"`
	// InterferenceBudget is the share of the time the business may find
	// less CPU than it wants (more lent than was idle): the CPU error
	// bound is steered online to spend exactly this.
	InterferenceBudget float64 `yaml:"interference_budget"`
	// DegradeAfter is how long sampling may fail before the harvestable
	// amounts fall to zero: without data, nothing is safe to lend.
	DegradeAfter model.Duration `yaml:"degrade_after"`
}

// SamplingPolicy sets the two sampling paths.
type SamplingPolicy struct {
	// Interval is the full sample period (procfs, memory, PSI, cgroups).
	Interval model.Duration `yaml:"interval"`
	// FastInterval is the CPU-only fast path period; it bounds how long a
	// business CPU spike can go unseen.
	FastInterval model.Duration `yaml:"fast_interval"`
}

// ResourceAmount is an amount of CPU and memory.
type ResourceAmount struct {
	CPUs   float64 `yaml:"cpus"`
	Memory Bytes   `yaml:"memory"`
}

// UtilizationPolicy is the ceiling on host utilization (business plus
// batch), as a fraction of capacity.
type UtilizationPolicy struct {
	CPU    float64 `yaml:"cpu"`
	Memory float64 `yaml:"memory"`
}

// PredictorPolicy tunes the business peak predictor.
type PredictorPolicy struct {
	// Window is the span of the recent maximum.
	Window model.Duration `yaml:"window"`
	// CPUPercentile and MemoryPercentile (0-100) are read from the decaying
	// histograms of business usage.
	CPUPercentile    float64 `yaml:"cpu_percentile"`
	MemoryPercentile float64 `yaml:"memory_percentile"`
	// HalfLife is how fast old observations lose weight in the histograms.
	HalfLife model.Duration `yaml:"half_life"`
	// Margin is added on top of the memory prediction, as a fraction; and
	// on top of the CPU prediction when the CPU error bound is off.
	Margin float64 `yaml:"margin"`
	// CPUErrorPercentile (0-100) is the share of the CPU predictor's past
	// errors its error bound covers: the CPU prediction is the base plus
	// this percentile of how far new full samples rose above the base
	// predicted before them. 0 turns the bound off (margin instead).
	CPUErrorPercentile float64 `yaml:"cpu_error_percentile"`
	// CPUErrorHalfLife is how fast past errors lose weight.
	CPUErrorHalfLife model.Duration `yaml:"cpu_error_half_life"`
	// CPUErrorPrior is the error assumed before any is known, as a
	// fraction of the online CPUs. It weighs like one observed error, so
	// it fades as real errors accumulate.
	CPUErrorPrior float64 `yaml:"cpu_error_prior"`
	// CPUVolatility is how many times the largest recent rise of business
	// CPU above the prediction (seen by full samples) is added on top of
	// the CPU prediction, in cores. 0 disables it (the default: the error
	// bound covers rises at the rate they happen, which a largest-rise
	// buffer cannot).
	CPUVolatility float64 `yaml:"cpu_volatility"`
	// CPUVolatilityHalfLife is how fast a rise is forgotten: the rise
	// counts half after one half-life.
	CPUVolatilityHalfLife model.Duration `yaml:"cpu_volatility_half_life"`
}

// GrowPolicy limits how the estimate grows; shrinking is never limited.
type GrowPolicy struct {
	// GrowAfter is how long a target one deadband above the estimate must
	// stay there before the estimate grows; a target further above waits
	// proportionally less (growth starts once deadband × grow_after
	// core-seconds, or byte-seconds, would have been lent). Nothing grows
	// in the first grow_after after a start or a recovery.
	GrowAfter model.Duration `yaml:"grow_after"`
	// MaxStep is the largest growth per sampling interval.
	MaxStep ResourceAmount `yaml:"max_step"`
	// Deadband: target moves smaller than this are ignored both ways, so
	// noise does not become reservation churn.
	Deadband ResourceAmount `yaml:"deadband"`
}

// PressurePolicy reacts to pressure stall information and low memory.
type PressurePolicy struct {
	// CPUSomeAvg10 and MemoryFullAvg10 are PSI thresholds in percent (the
	// kernel's own unit); 0 disables each.
	CPUSomeAvg10    float64 `yaml:"cpu_some_avg10"`
	MemoryFullAvg10 float64 `yaml:"memory_full_avg10"`
	// ShrinkStep is the fraction of the current harvest dropped at each
	// sample while pressure is above a threshold.
	ShrinkStep float64 `yaml:"shrink_step"`
	// Cooldown holds growth after the last pressure event.
	Cooldown model.Duration `yaml:"cooldown"`
	// MemoryWatermark is the fraction of memory that must stay available;
	// below it the monitor asks for batch memory back (eviction).
	MemoryWatermark float64 `yaml:"memory_watermark"`
	// CPUStarvationEvictAfter: CPU is only clamped, never a reason to kill,
	// unless revocable tasks stay clamped to the floor this long; then the
	// agent evicts one (0 never does).
	CPUStarvationEvictAfter model.Duration `yaml:"cpu_starvation_evict_after"`
}

// Bytes is a byte count that reads "512MiB" (2^20), "2GB" (10^9) or a
// plain integer; see resources.ParseBytes.
type Bytes uint64

// UnmarshalYAML implements yaml.Unmarshaler.
func (b *Bytes) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	if s == "" {
		return errors.New("empty byte size")
	}
	if strings.HasPrefix(s, "-") {
		return fmt.Errorf("%q is negative", s)
	}
	if v, err := strconv.ParseUint(s, 10, 64); err == nil {
		*b = Bytes(v)
		return nil
	}
	v, err := resources.ParseBytes(s)
	if err != nil {
		return err
	}
	*b = Bytes(v)
	return nil
}

// MarshalYAML prints whole binary units when exact, bytes otherwise.
func (b Bytes) MarshalYAML() (any, error) { return b.String(), nil }

func (b Bytes) String() string {
	for _, u := range []struct {
		suffix string
		size   uint64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b != 0 && uint64(b)%u.size == 0 {
			return strconv.FormatUint(uint64(b)/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatUint(uint64(b), 10)
}

// DefaultPolicy is the built-in policy, documented in docs/policy.md.
func DefaultPolicy() Policy {
	return Policy{
		Sampling: SamplingPolicy{
			Interval:     model.Duration(time.Second),
			FastInterval: model.Duration(200 * time.Millisecond),
		},
		Reserve: ResourceAmount{CPUs: 0.5, Memory: 512 << 20},
		// No flat CPU ceiling: the CPU safety margin is the predictor's
		// error bound, sized by the business's own behaviour. A flat 15 %
		// withheld ~10 cores of a 64-core host whatever the business did
		// (see docs/policy.md).
		MaxUtilization: UtilizationPolicy{CPU: 1, Memory: 0.90},
		Predictor: PredictorPolicy{
			// The last second: longer memory is the histogram's job,
			// and the error bound covers the jumps.
			Window:           model.Duration(time.Second),
			CPUPercentile:    50,
			MemoryPercentile: 98,
			// Long enough that a level left an hour ago still counts:
			// load that vanished suddenly can come back as suddenly.
			HalfLife: model.Duration(90 * time.Minute),
			Margin:   0.10,
			// The p99 of the rises is their scale; the steering to
			// interference_budget multiplies it. An hour's half-life:
			// a burst stops weighing within hours, not days, and the
			// steering, not the memory, keeps the miss rate right.
			CPUErrorPercentile:    99,
			CPUErrorHalfLife:      model.Duration(time.Hour),
			CPUErrorPrior:         0.05,
			CPUVolatility:         0,
			CPUVolatilityHalfLife: model.Duration(2 * time.Hour),
		},
		Grow: GrowPolicy{
			GrowAfter: model.Duration(60 * time.Second),
			MaxStep:   ResourceAmount{CPUs: 1, Memory: 1 << 30},
			Deadband:  ResourceAmount{CPUs: 1.25, Memory: 256 << 20},
		},
		Pressure: PressurePolicy{
			CPUSomeAvg10:    40,
			MemoryFullAvg10: 5,
			ShrinkStep:      0.25,
			Cooldown:        model.Duration(60 * time.Second),
			MemoryWatermark: 0.10,
			// Ten minutes at the floor: a task that long starved holds
			// its memory for nothing and would run better elsewhere.
			CPUStarvationEvictAfter: model.Duration(10 * time.Minute),
		},
		// One sample in a thousand may find less CPU than it wants.
		InterferenceBudget: 0.001,
		DegradeAfter:       model.Duration(10 * time.Second),
	}
}

// FieldError is one invalid policy field.
type FieldError struct {
	Path   string // dotted YAML path, e.g. "predictor.cpu_percentile"
	Reason string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Reason }

// ParsePolicy parses a policy document over the defaults. Unknown fields
// are errors, not warnings: a typo would otherwise silently run the default.
func ParsePolicy(data []byte) (Policy, error) {
	p := DefaultPolicy()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Policy{}, fmt.Errorf("invalid yaml: %w", err)
	}
	if len(root.Content) == 0 { // empty document: all defaults
		return p, p.Validate()
	}
	fieldErr := checkFields(root.Content[0], reflect.TypeOf(p), "")
	// With unknown or mistyped fields the rest is still decoded and
	// validated, so that one run reports every problem of the file: the
	// bad fields keep their defaults and add no error of their own.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(fieldErr == nil)
	if err := dec.Decode(&p); err != nil && !errors.Is(err, io.EOF) && fieldErr == nil {
		return Policy{}, fmt.Errorf("invalid yaml: %w", err)
	}
	if fieldErr != nil {
		return Policy{}, errors.Join(fieldErr, p.Validate())
	}
	return p, p.Validate()
}

// checkFields walks the YAML tree against the Go type, so that an unknown
// or mistyped field is reported with its full path rather than yaml.v3's
// "field x not found in type monitor.y".
func checkFields(n *yaml.Node, t reflect.Type, path string) error {
	if t.Kind() != reflect.Struct || n.Kind != yaml.MappingNode {
		return scalarCheck(n, t, path)
	}
	fields := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		fields[name] = f
	}
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i].Value, n.Content[i+1]
		p := joinPath(path, key)
		f, ok := fields[key]
		if !ok {
			errs = append(errs, &FieldError{Path: p, Reason: "unknown field (line " + strconv.Itoa(n.Content[i].Line) + ")"})
			continue
		}
		if err := checkFields(val, f.Type, p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// scalarCheck decodes one leaf alone to name its path when its value has
// the wrong type.
func scalarCheck(n *yaml.Node, t reflect.Type, path string) error {
	if t.Kind() == reflect.Struct && t != reflect.TypeOf(model.Duration(0)) {
		return &FieldError{Path: path, Reason: "must be a mapping"}
	}
	v := reflect.New(t)
	if err := n.Decode(v.Interface()); err != nil {
		msg := err.Error()
		if te := (*yaml.TypeError)(nil); errors.As(err, &te) && len(te.Errors) > 0 {
			msg = strings.Join(te.Errors, "; ")
		}
		return &FieldError{Path: path, Reason: msg}
	}
	return nil
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// Validate checks every field and reports all the bad ones at once.
func (p Policy) Validate() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Reason: fmt.Sprintf(format, args...)})
	}
	positive := func(path string, d model.Duration) {
		if d <= 0 {
			bad(path, "must be a positive duration, got %s", d)
		}
	}
	nonNegative := func(path string, v float64) {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			bad(path, "must be a finite number >= 0, got %v", v)
		}
	}
	fraction := func(path string, v float64, allowZero bool) {
		switch {
		case allowZero && (math.IsNaN(v) || v < 0 || v > 1):
			bad(path, "must be a fraction in [0, 1], got %v", v)
		case !allowZero && (math.IsNaN(v) || v <= 0 || v > 1):
			bad(path, "must be a fraction in (0, 1], got %v", v)
		}
	}
	percent := func(path string, v float64) {
		if math.IsNaN(v) || v < 0 || v > 100 {
			bad(path, "must be a percentage in 0-100, got %v", v)
		}
	}
	positive("sampling.interval", p.Sampling.Interval)
	positive("sampling.fast_interval", p.Sampling.FastInterval)
	if p.Sampling.FastInterval > p.Sampling.Interval && p.Sampling.Interval > 0 {
		bad("sampling.fast_interval", "must not exceed sampling.interval (%s), got %s", p.Sampling.Interval, p.Sampling.FastInterval)
	}
	nonNegative("reserve.cpus", p.Reserve.CPUs)
	const maxCPUs = 1 << 16
	if p.Reserve.CPUs > maxCPUs {
		bad("reserve.cpus", "%v is more CPUs than any host has", p.Reserve.CPUs)
	}
	fraction("max_utilization.cpu", p.MaxUtilization.CPU, false)
	fraction("max_utilization.memory", p.MaxUtilization.Memory, false)
	positive("predictor.window", p.Predictor.Window)
	percent("predictor.cpu_percentile", p.Predictor.CPUPercentile)
	percent("predictor.memory_percentile", p.Predictor.MemoryPercentile)
	positive("predictor.half_life", p.Predictor.HalfLife)
	nonNegative("predictor.margin", p.Predictor.Margin)
	if p.Predictor.Margin > 10 {
		bad("predictor.margin", "must be at most 10 (1000%%), got %v", p.Predictor.Margin)
	}
	nonNegative("predictor.cpu_volatility", p.Predictor.CPUVolatility)
	if p.Predictor.CPUVolatility > 10 {
		bad("predictor.cpu_volatility", "must be at most 10, got %v", p.Predictor.CPUVolatility)
	}
	positive("predictor.cpu_volatility_half_life", p.Predictor.CPUVolatilityHalfLife)
	if v := p.Predictor.CPUErrorPercentile; math.IsNaN(v) || v < 0 || v >= 100 {
		bad("predictor.cpu_error_percentile", "must be a percentage in [0, 100), got %v", v)
	}
	positive("predictor.cpu_error_half_life", p.Predictor.CPUErrorHalfLife)
	fraction("predictor.cpu_error_prior", p.Predictor.CPUErrorPrior, true)
	if p.Grow.GrowAfter < 0 {
		bad("grow.grow_after", "must be >= 0, got %s", p.Grow.GrowAfter)
	}
	if p.Grow.MaxStep.CPUs <= 0 || math.IsNaN(p.Grow.MaxStep.CPUs) {
		bad("grow.max_step.cpus", "must be > 0, got %v", p.Grow.MaxStep.CPUs)
	}
	if p.Grow.MaxStep.Memory == 0 {
		bad("grow.max_step.memory", "must be > 0")
	}
	nonNegative("grow.deadband.cpus", p.Grow.Deadband.CPUs)
	percent("pressure.cpu_some_avg10", p.Pressure.CPUSomeAvg10)
	percent("pressure.memory_full_avg10", p.Pressure.MemoryFullAvg10)
	fraction("pressure.shrink_step", p.Pressure.ShrinkStep, false)
	if p.Pressure.Cooldown < 0 {
		bad("pressure.cooldown", "must be >= 0, got %s", p.Pressure.Cooldown)
	}
	if p.Pressure.MemoryWatermark < 0 || p.Pressure.MemoryWatermark >= 1 || math.IsNaN(p.Pressure.MemoryWatermark) {
		bad("pressure.memory_watermark", "must be a fraction in [0, 1), got %v", p.Pressure.MemoryWatermark)
	}
	if p.Pressure.CPUStarvationEvictAfter < 0 {
		bad("pressure.cpu_starvation_evict_after", "must be >= 0, got %s", p.Pressure.CPUStarvationEvictAfter)
	}
	if v := p.InterferenceBudget; math.IsNaN(v) || v <= 0 || v >= 0.5 {
		bad("interference_budget", "must be a share of the time in (0, 0.5), got %v", v)
	}
	positive("degrade_after", p.DegradeAfter)
	return errors.Join(errs...)
}
