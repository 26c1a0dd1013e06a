package monitor

import (
	"testing"
	"time"

	"github.com/headroom-dev/headroom/internal/testutil"
)

// FuzzMonitor sends fuzzed methods, paths, headers and bodies to every
// route of the monitor behind the server's limits: no request may panic
// or get a 5xx (but /healthz's 503 while degraded, which this monitor is
// not). The seed corpus is testdata/fuzz/FuzzMonitor and runs with the
// normal tests.
func FuzzMonitor(f *testing.F) {
	h := guardedMonitor(f)
	f.Add("GET", "/api/v1/estimate", "Accept", "application/json", []byte(nil))
	f.Fuzz(func(t *testing.T, method, path, header, headerVal string, body []byte) {
		fr := testutil.FuzzRequest{Method: method, Path: path, Header: header, HeaderVal: headerVal, Body: body}
		code := testutil.ServeFuzzed(t, h, fr, 10*time.Second)
		testutil.CheckFuzzed(t, fr, code)
	})
}
