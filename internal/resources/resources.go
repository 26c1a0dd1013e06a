package resources

import (
	"fmt"
	"math"
)

// Resources is an amount of CPU (cores), memory and disk (bytes).
type Resources struct {
	CPUs     float64 `json:"cpus"`
	MemBytes int64   `json:"mem_bytes"`
	Disk     int64   `json:"disk_bytes,omitempty"`
}

// cpuEpsilon absorbs float rounding when comparing CPU amounts: no scheduler
// hands out a millionth of a core.
const cpuEpsilon = 1e-6

// Add returns r + o.
func (r Resources) Add(o Resources) Resources {
	return Resources{CPUs: r.CPUs + o.CPUs, MemBytes: r.MemBytes + o.MemBytes, Disk: r.Disk + o.Disk}
}

// Sub returns r - o; components may go negative, see NonNegative.
func (r Resources) Sub(o Resources) Resources {
	return Resources{CPUs: r.CPUs - o.CPUs, MemBytes: r.MemBytes - o.MemBytes, Disk: r.Disk - o.Disk}
}

// NonNegative returns r with negative components set to zero.
func (r Resources) NonNegative() Resources {
	if r.CPUs < 0 {
		r.CPUs = 0
	}
	if r.MemBytes < 0 {
		r.MemBytes = 0
	}
	if r.Disk < 0 {
		r.Disk = 0
	}
	return r
}

// Contains reports whether o fits in r.
func (r Resources) Contains(o Resources) bool {
	return o.CPUs <= r.CPUs+cpuEpsilon && o.MemBytes <= r.MemBytes && o.Disk <= r.Disk
}

// IsZero reports whether every component is zero (or within rounding).
func (r Resources) IsZero() bool {
	return math.Abs(r.CPUs) < cpuEpsilon && r.MemBytes == 0 && r.Disk == 0
}

// Empty reports whether nothing useful can be placed on r: no CPU or no
// memory left.
func (r Resources) Empty() bool {
	return r.CPUs < cpuEpsilon || r.MemBytes <= 0
}

// MaxCPUs bounds every CPU amount to something a host can have: a larger
// number is a typo or an attack on the arithmetic, not a request.
const MaxCPUs = 1 << 16

// Validate checks that r is a sane request: no negative, NaN, infinite or
// absurdly large component. The error names the field and the value.
func (r Resources) Validate() error {
	switch {
	case math.IsNaN(r.CPUs) || math.IsInf(r.CPUs, 0):
		return fmt.Errorf("cpus: must be a finite number, got %v", r.CPUs)
	case r.CPUs > MaxCPUs:
		return fmt.Errorf("cpus: must be at most %d, got %v", MaxCPUs, r.CPUs)
	case r.CPUs < 0:
		return fmt.Errorf("cpus: must not be negative, got %v", r.CPUs)
	case r.MemBytes < 0:
		return fmt.Errorf("mem_bytes: must not be negative, got %d", r.MemBytes)
	case r.Disk < 0:
		return fmt.Errorf("disk_bytes: must not be negative, got %d", r.Disk)
	}
	return nil
}

// DominantShare returns the largest share r takes of total among the
// components total has, as DRF defines it.
func (r Resources) DominantShare(total Resources) float64 {
	var s float64
	if total.CPUs > 0 {
		s = math.Max(s, r.CPUs/total.CPUs)
	}
	if total.MemBytes > 0 {
		s = math.Max(s, float64(r.MemBytes)/float64(total.MemBytes))
	}
	if total.Disk > 0 {
		s = math.Max(s, float64(r.Disk)/float64(total.Disk))
	}
	return s
}

// String formats r for logs and errors.
func (r Resources) String() string {
	return fmt.Sprintf("cpus=%.3g mem=%dB disk=%dB", r.CPUs, r.MemBytes, r.Disk)
}
