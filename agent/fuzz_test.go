package agent

import (
	"bytes"
	"net/url"
	"path"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// FuzzAgent sends fuzzed methods, paths, headers and bodies to every
// route of a real agent (root, cgroups) behind the server's limits: no
// request may panic or get a 5xx. A body that is a valid launch is not
// sent: the fuzzer would otherwise run arbitrary commands on the host; its
// decoding and validation are fuzzed all the same. The seed corpus is
// testdata/fuzz/FuzzAgent and runs with the normal tests.
func FuzzAgent(f *testing.F) {
	ta := startAgent(f, nil)
	h := ta.srv.Config.Handler
	f.Add("PUT", "/api/v1/reservation", "Content-Type", "application/json", []byte(`{"mode":"cap","cpus":1}`))
	f.Add("TRACE", "/metrics", "", "", []byte(nil))
	f.Fuzz(func(t *testing.T, method, p, header, headerVal string, body []byte) {
		fr := testutil.FuzzRequest{Method: method, Path: p, Header: header, HeaderVal: headerVal, Body: body}
		if u, err := url.Parse(p); err == nil && path.Clean(u.Path) == "/api/v1/tasks" {
			var info api.TaskInfo
			if api.DecodeStrict(bytes.NewReader(body), &info, maxBody) == nil && info.Validate() == nil {
				return
			}
		}
		code := testutil.ServeFuzzed(t, h, fr, 10*time.Second)
		testutil.CheckFuzzed(t, fr, code)
	})
}
