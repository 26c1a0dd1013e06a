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
	"strings"
	"text/tabwriter"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/monitor"
	"github.com/headroom-dev/headroom/sim"
)

type simulateFlags struct {
	trace    string
	format   string
	policies []string
	cores    float64
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
cluster trace) through the monitor's own estimator running each policy, and
score what each would have harvested: efficiency (share of the truly idle
CPU lent), interference (time and core-seconds lent beyond what was idle),
reservation changes per hour, evictions. A fixed reservation, a
Koordinator-style formula and the oracle are scored alongside.
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
	fl.Float64Var(&f.cores, "cores", 64, "host cores the trace is scaled to (a recording's own size unless set)")
	fl.StringVar(&f.memory, "memory", "256GiB", "host memory the trace is scaled to, e.g. 256GiB (2^30 bytes) or 256GB (10^9) (a recording's own size unless set)")
	fl.StringVarP(&f.output, "output", "o", "table", "output: table or json")
	fl.StringVar(&f.plot, "plot", "", "also write an SVG plot of load, harvests and interference to this file")
	_ = cmd.MarkFlagRequired("trace")
	return cmd
}

type namedPolicy struct {
	name string
	p    monitor.Policy
}

func runSimulate(cmd *cobra.Command, f *simulateFlags) error {
	if f.output != "table" && f.output != "json" {
		return fmt.Errorf("--output: %q is not table or json", f.output)
	}
	if f.format != "auto" && !slices.Contains(sim.Formats(), f.format) {
		return fmt.Errorf("--format: %q is not auto or one of %s", f.format, strings.Join(sim.Formats(), ", "))
	}
	if f.cores <= 0 || math.IsNaN(f.cores) || math.IsInf(f.cores, 0) {
		return fmt.Errorf("--cores: must be > 0, got %v", f.cores)
	}
	mem, err := resources.ParseBytes(f.memory)
	if err != nil {
		return fmt.Errorf("--memory: %w", err)
	}
	if mem <= 0 {
		return fmt.Errorf("--memory: must be > 0, got %q", f.memory)
	}
	policies := []namedPolicy{{"default", monitor.DefaultPolicy()}}
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

	tr, err := readTraceFile(cmd, f, sim.Host{Cores: f.cores, MemBytes: uint64(mem)})
	if err != nil {
		return err
	}

	var cfg sim.Config
	reports := make([]sim.Report, 0, len(policies)+3)
	for _, np := range policies {
		r, err := sim.Simulate(tr, np.p, cfg)
		if err != nil {
			return fmt.Errorf("policy %s: %w", np.name, err)
		}
		r.Name = np.name
		reports = append(reports, r)
	}
	// Baselines are scored against the first policy's reserve, so their
	// oracle is the same as that policy's.
	for _, b := range []func(sim.Trace, monitor.Policy, sim.Config) (sim.Report, error){sim.Fixed, sim.Koordinator, sim.Oracle} {
		r, err := b(tr, policies[0].p, cfg)
		if err != nil {
			return err
		}
		reports = append(reports, r)
	}

	if f.plot != "" {
		if err := writePlot(f.plot, tr, reports); err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
	}
	out := cmd.OutOrStdout()
	if f.output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(reports)
	}
	return writeTable(out, tr, reports)
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
	if err := sim.Plot(file, tr, reports...); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

func writeTable(out io.Writer, tr sim.Trace, reports []sim.Report) error {
	fmt.Fprintf(out, "trace: %d steps of %s, %.1f h, host %g cores, %s\n\n",
		len(tr.Points), tr.Step, float64(len(tr.Points))*tr.Step.Hours(), tr.Host.Cores, units.BytesSize(float64(tr.Host.MemBytes)))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tefficiency\tinterference time\tinterference core·s\tchanges/h\tcore·h\tGiB·h\tevictions\t")
	for _, r := range reports {
		fmt.Fprintf(tw, "%s\t%.1f%%\t%.2f%%\t%.0f\t%.1f\t%.1f\t%.1f\t%d\t\n",
			r.Name, 100*r.Efficiency, 100*r.InterferenceTimeRatio, r.InterferenceCoreSeconds,
			r.ChangesPerHour, r.HarvestedCoreHours, r.HarvestedGiBHours, r.Evictions)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// What bound each policy's CPU, in the monitor's stable reason order.
	for _, r := range reports {
		if len(r.Reasons) == 0 {
			continue
		}
		var parts []string
		for _, reason := range monitor.Reasons {
			if v := r.Reasons[reason]; v > 0 {
				parts = append(parts, fmt.Sprintf("%s %.1f%%", reason, 100*v))
			}
		}
		fmt.Fprintf(out, "\n%s: cpu bound by %s", r.Name, strings.Join(parts, ", "))
	}
	_, err := fmt.Fprintln(out)
	return err
}
