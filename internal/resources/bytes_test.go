package resources

import "testing"

func TestParseBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"4096", 4096},
		{"4GB", 4_000_000_000},
		{"4gb", 4_000_000_000},
		{"4GiB", 4 << 30},
		{"512MiB", 512 << 20},
		{"1.5GiB", 3 << 29},
		{"2kB", 2000},
		{"2KiB", 2048},
		{" 64 GiB ", 64 << 30},
		{"10B", 10},
	} {
		got, err := ParseBytes(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"4G", `"4G": ambiguous unit; write 4GB (powers of 10) or 4GiB (powers of 2)`},
		{"512m", `"512m": ambiguous unit; write 512MB (powers of 10) or 512MiB (powers of 2)`},
		{"8k", `"8k": ambiguous unit; write 8kB (powers of 10) or 8KiB (powers of 2)`},
		{"-1GB", `"-1GB" is negative`},
		{"4XB", `"4XB" is not a byte size like 512MiB or 4GB (MB, GB: powers of 10; MiB, GiB: powers of 2)`},
		{"", "empty size"},
		{"lots", `"lots" is not a byte size like 512MiB or 4GB (MB, GB: powers of 10; MiB, GiB: powers of 2)`},
		{"99999999999PiB", `"99999999999PiB" is not a byte size like 512MiB or 4GB (MB, GB: powers of 10; MiB, GiB: powers of 2)`},
	} {
		_, err := ParseBytes(tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("ParseBytes(%q): %v, want %s", tc.in, err, tc.want)
		}
	}
}
