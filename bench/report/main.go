package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

type options struct {
	in, out   string
	headroom  string
	traces    string
	command   string
	version   string
	started   string
	note      string
	cores     float64
	reserve   float64
	skipTrace bool
	// tracesMissing says why there is no policy table.
	tracesMissing string
	// env is the HEADROOM_* environment the benchmarks read.
	env []string
}

func main() {
	var o options
	flag.StringVar(&o.in, "in", "bench/out.txt", "benchmark output to read")
	flag.StringVar(&o.out, "out", "bench/results.md", "report to write ('-' for stdout)")
	flag.StringVar(&o.headroom, "headroom", "bin/headroom", "headroom binary that runs the policy simulations")
	flag.StringVar(&o.traces, "traces", "../shared/traces", "directory of the traces to simulate (*.csv)")
	flag.StringVar(&o.command, "command", "make bench", "command that produced the output, as the report shows it")
	flag.StringVar(&o.version, "version", "", "version (git describe) of the code measured")
	flag.StringVar(&o.started, "started", "", "when the run started (RFC 3339); it ended when -in was last written")
	flag.StringVar(&o.note, "note", "", "conditions of the run worth knowing, e.g. a machine shared with other work")
	flag.Float64Var(&o.cores, "cores", 64, "host cores the traces are scaled to")
	flag.Float64Var(&o.reserve, "reserve", 2, "CPU reserve, in cores, of the default policy in the simulations")
	flag.BoolVar(&o.skipTrace, "no-traces", false, "leave out the policy simulations")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	f, err := os.Open(o.in)
	if err != nil {
		return err
	}
	defer f.Close()
	results, hdr, err := parse(f)
	if err != nil {
		return fmt.Errorf("%s: %w", o.in, err)
	}
	if len(results) == 0 {
		return fmt.Errorf("%s: no benchmark results", o.in)
	}
	// The run ended when its last result was written, whenever the
	// report is (re)generated.
	st, err := f.Stat()
	if err != nil {
		return err
	}
	finished, started := st.ModTime(), time.Time{}
	if o.started != "" {
		if started, err = time.Parse(time.RFC3339, o.started); err != nil {
			return fmt.Errorf("-started: %w", err)
		}
	}
	var policies []traceReport
	if !o.skipTrace {
		if _, err := os.Stat(o.traces); err != nil {
			// The benchmarks' numbers are worth writing out without the
			// simulations; the report says they are missing.
			fmt.Fprintf(os.Stderr, "report: no policy table: %v\n", err)
			o.tracesMissing = err.Error()
		} else if policies, err = simulateTraces(o.headroom, o.traces, o.cores, o.reserve); err != nil {
			return err
		}
	}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "HEADROOM_") {
			o.env = append(o.env, kv)
		}
	}
	slices.Sort(o.env)
	var buf bytes.Buffer
	r := report{w: &buf, opts: o, results: results, header: hdr, machine: readMachine(hdr),
		started: started, finished: finished, policies: policies}
	r.write()
	if o.out == "-" {
		_, err = io.Copy(os.Stdout, &buf)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(o.out, buf.Bytes(), 0o644)
}
