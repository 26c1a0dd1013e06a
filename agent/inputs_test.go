package agent

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestAcceptedButWrongInputsRefused: inputs the agent used to accept and
// get wrong are refused with a 4xx naming the field, and leave the state
// (override, applied reservation, attributes) as it was.
func TestAcceptedButWrongInputsRefused(t *testing.T) {
	ta := startAgent(t, func(c *Config) { c.Attributes = map[string]string{"rack": "r1"} })
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		field                    string
	}{
		{"mem_bytes beyond the host", http.MethodPut, "/api/v1/reservation", `{"mode":"fixed","cpus":1,"mem_bytes":9223372036854775807}`, http.StatusUnprocessableEntity, "mem_bytes"},
		{"mem_bytes cap beyond the host", http.MethodPut, "/api/v1/reservation", `{"mode":"cap","mem_bytes":9223372036854775807}`, http.StatusUnprocessableEntity, "mem_bytes"},
		{"null attribute", http.MethodPut, "/api/v1/attributes", `{"id":null}`, http.StatusBadRequest, `attributes["id"]`},
		{"null attribute among others", http.MethodPut, "/api/v1/attributes", `{"rack":"r2","id":null}`, http.StatusBadRequest, `attributes["id"]`},
		{"null attributes", http.MethodPut, "/api/v1/attributes", `null`, http.StatusBadRequest, "attributes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := ta.State()
			code, body := ta.do(t, tc.method, tc.path, tc.body)
			if code != tc.code {
				t.Fatalf("%s %s %s: %d %s, want %d", tc.method, tc.path, tc.body, code, body, tc.code)
			}
			if _, details := decodeAPIError(t, body); !strings.Contains(details, tc.field) {
				t.Fatalf("error %s does not name %s", body, tc.field)
			}
			after := ta.State()
			if after.Applied != before.Applied || !reflect.DeepEqual(after.Override, before.Override) || !reflect.DeepEqual(after.Attributes, before.Attributes) {
				t.Fatalf("state changed: before %+v / %+v / %v, after %+v / %+v / %v",
					before.Applied, before.Override, before.Attributes, after.Applied, after.Override, after.Attributes)
			}
		})
	}
	// The host's memory itself is a valid bound.
	if code, body := ta.do(t, http.MethodPut, "/api/v1/reservation", map[string]any{"mode": "cap", "mem_bytes": ta.cfg.HostMemBytes}); code != http.StatusOK {
		t.Fatalf("a cap of the host's memory: %d %s", code, body)
	}
}
