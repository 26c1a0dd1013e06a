package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// result is every run of one benchmark in one package: for each unit, the
// value of each run, in order.
type result struct {
	pkg, name string
	units     []string // in order of first appearance
	values    map[string][]float64
}

// median is the median of the unit's runs, and whether there was one.
func (r *result) median(unit string) (float64, bool) {
	v := slices.Clone(r.values[unit])
	if len(v) == 0 {
		return 0, false
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], true
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, true
}

// header is the configuration `go test -bench` prints before the results.
type header struct {
	goos, goarch, cpu string
}

// procsSuffix is the -GOMAXPROCS suffix go test appends to names.
var procsSuffix = regexp.MustCompile(`-\d+$`)

// parse reads benchmark output in the Go benchmark format (what benchstat
// reads): "pkg:" lines name the package of the results that follow, and a
// result line is the name, the iteration count, then value-unit pairs.
// Anything else (logs, PASS, ok) is skipped.
func parse(r io.Reader) ([]*result, header, error) {
	var (
		h     header
		pkg   string
		out   []*result
		byKey = map[string]*result{}
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if k, v, ok := strings.Cut(text, ":"); ok && !strings.HasPrefix(text, "Benchmark") {
			v = strings.TrimSpace(v)
			switch k {
			case "pkg":
				pkg = v
			case "goos":
				h.goos = v
			case "goarch":
				h.goarch = v
			case "cpu":
				h.cpu = v
			}
			continue
		}
		f := strings.Fields(text)
		if len(f) < 2 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.ParseUint(f[1], 10, 64); err != nil {
			// A benchmark's own logging split its result line: go test
			// prints the name before running it. Say so rather than
			// leave a benchmark silently out.
			fmt.Fprintf(os.Stderr, "report: line %d: %s: no result on the line, skipped (log output in the way?)\n", line, f[0])
			continue
		}
		if len(f)%2 != 0 {
			return nil, h, fmt.Errorf("line %d: %s: values and units do not pair up", line, f[0])
		}
		name := procsSuffix.ReplaceAllString(f[0], "")
		key := pkg + "\x00" + name
		res := byKey[key]
		if res == nil {
			res = &result{pkg: pkg, name: name, values: map[string][]float64{}}
			byKey[key] = res
			out = append(out, res)
		}
		for i := 2; i < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, h, fmt.Errorf("line %d: value %q of %s: %w", line, f[i], f[i+1], err)
			}
			unit := f[i+1]
			if _, seen := res.values[unit]; !seen {
				res.units = append(res.units, unit)
			}
			res.values[unit] = append(res.values[unit], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, h, err
	}
	return out, h, nil
}

// find is the result named name (without the -GOMAXPROCS suffix), in any
// package, or nil.
func find(results []*result, name string) *result {
	for _, r := range results {
		if r.name == name {
			return r
		}
	}
	return nil
}
