package resources

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/dustin/go-humanize"
)

// ParseBytes reads a typed size the one way headroom reads every size
// (flags, policy YAML): a plain integer is bytes, kB/MB/GB/TB/PB are
// powers of 10 (4GB = 4×10^9) and KiB/MiB/GiB/TiB/PiB powers of 2
// (4GiB = 4×2^30), case-insensitive. A unit without its B ("4G") is
// refused: it has been read both ways, and a size that silently means 7 %
// more or less than intended is worse than an error.
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("empty size")
	}
	if strings.HasPrefix(t, "-") {
		return 0, fmt.Errorf("%q is negative", s)
	}
	num := strings.TrimSpace(strings.TrimRightFunc(t, unicode.IsLetter))
	unit := strings.ToUpper(strings.TrimSpace(t[len(strings.TrimRightFunc(t, unicode.IsLetter)):]))
	if _, err := strconv.ParseFloat(num, 64); err == nil && len(unit) == 1 && strings.Contains("KMGTPE", unit) {
		dec := unit
		if unit == "K" {
			dec = "k"
		}
		return 0, fmt.Errorf("%q: ambiguous unit; write %s%sB (powers of 10) or %s%siB (powers of 2)", s, num, dec, num, unit)
	}
	v, err := humanize.ParseBytes(t)
	if err != nil {
		return 0, fmt.Errorf("%q is not a byte size like 512MiB or 4GB (MB, GB: powers of 10; MiB, GiB: powers of 2)", s)
	}
	if v > math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(v), nil
}
