package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/monitor"
	"github.com/headroom-dev/headroom/monitor/estimate"
	"github.com/headroom-dev/headroom/sim"
)

type simulateFlags struct {
	trace    string
	format   string
	policies []string
	cores    []float64
	memory   string
	output   string
	plot     string
}

func newSimulateCommand() *cobra.Command {
	var f simulateFlags
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Replay a load trace through policies and score them against baselines",
		Long: `Replay a business load trace (a monitor --record file or a public
cluster trace, or a per-machine seconds,cpu_util_percent series) through the
monitor's own estimator running each policy, at one host size or several
(--cores 2,4,8,64), and score what each would have harvested: efficiency
(share of the truly idle CPU lent), interference (time and core-seconds lent
beyond what was idle), reservation changes per hour, evictions. A fixed
reservation, a Koordinator-style formula, the frontier (the best window-max
policy in hindsight within the 0.1 % interference budget) and the oracle are
scored alongside; "× frontier" is each one's efficiency over the frontier's.
Definitions: docs/simulate.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSimulate(cmd, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.trace, "trace", "", "trace file (required)")
	fl.StringVar(&f.format, "format", "auto", "trace format: auto, "+strings.Join(sim.Formats(), ", "))
	fl.StringArrayVar(&f.policies, "policy", nil, "policy file (repeatable); none runs the built-in default policy")
	fl.Float64SliceVar(&f.cores, "cores", []float64{64}, "host cores the trace is scaled to, or a comma-separated list of sizes to replay it at, e.g. 2,4,8,64 (a recording's own size unless set)")
	fl.StringVar(&f.memory, "memory", "256GiB", "host memory the trace is scaled to, e.g. 256GiB (2^30 bytes) or 256GB (10^9) (a recording's own size unless set)")
	fl.StringVarP(&f.output, "output", "o", "table", "output: table or json")
	fl.StringVar(&f.plot, "plot", "", "also write a plot of load, harvests and interference to this file: PNG if it ends in .png, else SVG (one --cores size only)")
	_ = cmd.MarkFlagRequired("trace")
	return cmd
}

type namedPolicy struct {
	name string
	p    estimate.Policy
}

func runSimulate(cmd *cobra.Command, f *simulateFlags) error {
	if f.output != "table" && f.output != "json" {
		return fmt.Errorf("--output: %q is not table or json", f.output)
	}
	if f.format != "auto" && !slices.Contains(sim.Formats(), f.format) {
		return fmt.Errorf("--format: %q is not auto or one of %s", f.format, strings.Join(sim.Formats(), ", "))
	}
	if len(f.cores) == 0 {
		return errors.New("--cores: give at least one size")
	}
	for _, c := range f.cores {
		if c <= 0 || math.IsNaN(c) || math.IsInf(c, 0) {
			return fmt.Errorf("--cores: every size must be > 0, got %v", c)
		}
	}
	if f.plot != "" && len(f.cores) > 1 {
		return fmt.Errorf("--plot: plots one host size, got %d --cores sizes", len(f.cores))
	}
	mem, err := resources.ParseBytes(f.memory)
	if err != nil {
		return fmt.Errorf("--memory: %w", err)
	}
	if mem <= 0 {
		return fmt.Errorf("--memory: must be > 0, got %q", f.memory)
	}
	policies := []namedPolicy{{"default", estimate.DefaultPolicy()}}
	if len(f.policies) > 0 {
		policies = policies[:0]
		for _, path := range f.policies {
			p, err := monitor.LoadPolicy(path)
			if err != nil {
				return fmt.Errorf("--policy: %w", err)
			}
			name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
			policies = append(policies, namedPolicy{name, p})
		}
	}

	var (
		traces  []sim.Trace
		reports []sim.Report
	)
	for _, cores := range f.cores {
		tr, err := readTraceFile(cmd, f, sim.Host{Cores: cores, MemBytes: uint64(mem)})
		if err != nil {
			return err
		}
		rs, err := simulateAt(tr, policies)
		if err != nil {
			return err
		}
		traces, reports = append(traces, tr), append(reports, rs...)
	}

	if f.plot != "" {
		if err := writePlot(f.plot, traces[0], reports); err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
	}
	out := cmd.OutOrStdout()
	if f.output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(reports)
	}
	return writeTable(out, traces, reports)
}

// simulateAt scores the policies and the baselines on tr's host, each
// policy with its reserve sized to that host. The baselines are scored
// against the first policy's reserve, so their oracle is that policy's.
func simulateAt(tr sim.Trace, policies []namedPolicy) ([]sim.Report, error) {
	var cfg sim.Config
	reports := make([]sim.Report, 0, len(policies)+4)
	for _, np := range policies {
		r, err := sim.Simulate(tr, sim.PolicyFor(np.p, tr.Host), cfg)
		if err != nil {
			return nil, fmt.Errorf("policy %s at %g cores: %w", np.name, tr.Host.Cores, err)
		}
		r.Name = np.name
		reports = append(reports, r)
	}
	first := sim.PolicyFor(policies[0].p, tr.Host)
	var frontier sim.Report
	for _, b := range []func(sim.Trace, estimate.Policy, sim.Config) (sim.Report, error){sim.Fixed, sim.Koordinator, sim.Frontier, sim.Oracle} {
		r, err := b(tr, first, cfg)
		if err != nil {
			return nil, err
		}
		if r.Name == "frontier" {
			frontier = r
		}
		reports = append(reports, r)
	}
	sim.CompareFrontier(frontier, reports)
	return reports, nil
}

func readTraceFile(cmd *cobra.Command, f *simulateFlags, host sim.Host) (sim.Trace, error) {
	file, err := os.Open(f.trace)
	if err != nil {
		return sim.Trace{}, fmt.Errorf("--trace: %w", err)
	}
	defer file.Close()
	format := f.format
	if format == "auto" {
		// Peek at the header here, so that a recording keeps its own host
		// size unless --cores or --memory say otherwise.
		head := make([]byte, 512)
		n, err := io.ReadFull(file, head)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return sim.Trace{}, fmt.Errorf("--trace %s: %w", f.trace, err)
		}
		line, _, _ := strings.Cut(string(head[:n]), "\n")
		if format, err = sim.DetectFormat(line); err != nil {
			return sim.Trace{}, fmt.Errorf("--trace %s: %w", f.trace, err)
		}
		if _, err := file.Seek(0, io.SeekStart); err != nil {
			return sim.Trace{}, fmt.Errorf("--trace %s: %w", f.trace, err)
		}
	}
	if format == "record" {
		if !cmd.Flags().Changed("cores") {
			host.Cores = 0
		}
		if !cmd.Flags().Changed("memory") {
			host.MemBytes = 0
		}
	}
	tr, err := sim.ReadTrace(file, format, host)
	if err != nil {
		return sim.Trace{}, fmt.Errorf("--trace %s: %w", f.trace, err)
	}
	return tr, nil
}

func writePlot(path string, tr sim.Trace, reports []sim.Report) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	plot := sim.Plot
	if strings.EqualFold(filepath.Ext(path), ".png") {
		plot = sim.PlotPNG
	}
	if err := plot(file, tr, reports...); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

// writeTable prints one row per report, sizes in the order given, and what
// bound each policy's CPU.
func writeTable(out io.Writer, traces []sim.Trace, reports []sim.Report) error {
	tr := traces[0]
	sizes := make([]string, len(traces))
	for i, t := range traces {
		sizes[i] = strconv.FormatFloat(t.Host.Cores, 'g', -1, 64)
	}
	memNote := ""
	if tr.CPUOnly {
		memNote = " (no memory series: CPU scored only)"
	}
	fmt.Fprintf(out, "trace: %d steps of %s, %.1f h, host %s cores, %s%s\n\n",
		len(tr.Points), tr.Step, float64(len(tr.Points))*tr.Step.Hours(), strings.Join(sizes, ", "), units.BytesSize(float64(tr.Host.MemBytes)), memNote)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tcores\treserve\tefficiency\t× frontier\tinterference time\tinterference core·s\tchanges/h\tcore·h\tGiB·h\tevictions\t")
	for _, r := range reports {
		ratio := "-"
		if r.FrontierRatio != nil {
			ratio = fmt.Sprintf("%.2f", *r.FrontierRatio)
		}
		fmt.Fprintf(tw, "%s\t%g\t%g\t%.1f%%\t%s\t%.2f%%\t%.0f\t%.1f\t%.1f\t%.1f\t%d\t\n",
			r.Name, r.Cores, r.ReserveCPUs, 100*r.Efficiency, ratio, 100*r.InterferenceTimeRatio, r.InterferenceCoreSeconds,
			r.ChangesPerHour, r.HarvestedCoreHours, r.HarvestedGiBHours, r.Evictions)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// What bound each policy's CPU, in the monitor's stable reason order;
	// and what the frontier picked.
	for _, r := range reports {
		if r.Frontier != nil {
			fmt.Fprintf(out, "\nfrontier at %g cores: window %s, margin %.0f%%, grow delay %s",
				r.Cores, time.Duration(r.Frontier.WindowSeconds*float64(time.Second)), 100*r.Frontier.Margin,
				time.Duration(r.Frontier.GrowDelaySeconds*float64(time.Second)))
		}
		if len(r.Reasons) == 0 {
			continue
		}
		var parts []string
		for _, reason := range estimate.Reasons {
			if v := r.Reasons[reason]; v > 0 {
				parts = append(parts, fmt.Sprintf("%s %.1f%%", reason, 100*v))
			}
		}
		fmt.Fprintf(out, "\n%s at %g cores: cpu bound by %s", r.Name, r.Cores, strings.Join(parts, ", "))
	}
	_, err := fmt.Fprintln(out)
	return err
}
