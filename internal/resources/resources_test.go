package resources

import (
	"math"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Resources
		want string // "" for valid
	}{
		{"zero", Resources{}, ""},
		{"a host's worth", Resources{CPUs: MaxCPUs, MemBytes: 1 << 40, Disk: 1 << 40}, ""},
		{"absurd cpus", Resources{CPUs: 1e308}, "cpus: must be at most 65536"},
		{"infinite cpus", Resources{CPUs: math.Inf(1)}, "cpus: must be a finite number"},
		{"NaN cpus", Resources{CPUs: math.NaN()}, "cpus: must be a finite number"},
		{"negative cpus", Resources{CPUs: -1}, "cpus: must not be negative"},
		{"negative memory", Resources{MemBytes: -1}, "mem_bytes: must not be negative"},
		{"negative disk", Resources{Disk: -1}, "disk_bytes: must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate(%+v): %v, want valid", tc.r, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate(%+v): %v, want %q", tc.r, err, tc.want)
			}
		})
	}
}
