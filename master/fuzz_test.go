package master

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/internal/testutil"
)

// FuzzMaster sends fuzzed methods, paths, headers and bodies to every
// route of a leading master (on a real embedded etcd) behind the server's
// limits: no request may panic or get a 5xx. The seed corpus
// (testdata/fuzz/FuzzMaster) has a valid and a broken request for every
// route, and runs with the normal tests. The master calls no agent: a
// fuzzed registration could name any URL, a live agent's among them.
func FuzzMaster(f *testing.F) {
	tm := startMaster(f, openEmbeddedStore(f), func(c *Config) {
		c.AgentClient = &http.Client{Transport: noAgentCalls{}}
	})
	testutil.Eventually(f, 20*time.Second, 20*time.Millisecond, tm.m.Leading, "the master never became leader")
	f.Add("POST", "/v2/apps", "Content-Type", "application/json", []byte(`{"id":"web","cmd":"sleep 100","cpus":0.1,"mem":16,"instances":0}`))
	f.Add("GET", "/api/v1/leader", "", "", []byte(nil))
	f.Fuzz(func(t *testing.T, method, path, header, headerVal string, body []byte) {
		fr := testutil.FuzzRequest{Method: method, Path: path, Header: header, HeaderVal: headerVal, Body: body}
		code := testutil.ServeFuzzed(t, tm.handler, fr, 10*time.Second)
		testutil.CheckFuzzed(t, fr, code)
	})
}

// noAgentCalls fails every call to an agent.
type noAgentCalls struct{}

func (noAgentCalls) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("fuzzing: the master calls no agent")
}
