package agentproto

import (
	"encoding/json"
	"testing"
)

// TestStatusErrorReadsCleanly: details reach the terminal without nested
// quoting or HTML escapes.
func TestStatusErrorReadsCleanly(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{`{"message":"app not updated","details":"app \"bad\": unknown field \"cpu\""}`,
			`422 Unprocessable Entity: app not updated: app "bad": unknown field "cpu"`},
		{`{"message":"Object is not valid","details":[{"path":"/cpus","errors":["must be > 0 and <= 1024"]},{"path":"/mem","errors":["a","b"]}]}`,
			`422 Unprocessable Entity: Object is not valid: /cpus: must be > 0 and <= 1024; /mem: a, b`},
		{`{"message":"odd","details":{"limit":"<= 5"}}`,
			`422 Unprocessable Entity: odd: {"limit":"<= 5"}`},
		{`{"message":"no details"}`, `422 Unprocessable Entity: no details`},
	} {
		se := &StatusError{Code: 422, Raw: tc.raw}
		if err := json.Unmarshal([]byte(tc.raw), &se.Body); err != nil {
			t.Fatal(err)
		}
		if got := se.Error(); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.raw, got, tc.want)
		}
	}
}
