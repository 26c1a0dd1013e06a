package httpapi

import (
	"net/http"
	"slices"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/headroom-dev/headroom/internal/auth"
)

// Every route has a rule and every rule a route, /metrics included when
// it is served.
func TestEveryRouteHasARule(t *testing.T) {
	metrics := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	_, patterns := New(Config{Backend: newFake(), Metrics: metrics, Self: testSelf,
		Leader: func() (string, error) { return testSelf, nil }})
	rules := RouteRules()
	for _, p := range patterns {
		if _, ok := rules[p]; !ok {
			t.Errorf("route %q has no rule in RouteRules", p)
		}
	}
	for p := range rules {
		if !slices.Contains(patterns, p) {
			t.Errorf("RouteRules has %q, which is not a route", p)
		}
	}
}

// A caller without a credential, or with one the route's rule does not
// allow, is answered before any handler runs.
func TestRefusedCallersNeverReachTheBackend(t *testing.T) {
	creds, err := auth.Single("ui", auth.Reader, "reader-token")
	if err != nil {
		t.Fatal(err)
	}
	f := newFake()
	h, _ := New(Config{Backend: f, Self: testSelf, Leader: func() (string, error) { return testSelf, nil },
		Credentials: creds, Clock: clockwork.NewFakeClock()})
	for _, tc := range []struct {
		method, path, token string
		code                int
	}{
		{"GET", "/api/v1/agents", "", http.StatusUnauthorized},
		{"GET", "/api/v1/agents", "not-a-token", http.StatusUnauthorized},
		{"POST", "/v2/apps", "reader-token", http.StatusForbidden},
		{"POST", "/api/v1/agents/register", "reader-token", http.StatusForbidden},
		{"POST", "/api/v1/scheduler", "reader-token", http.StatusForbidden},
		{"DELETE", "/v1/jobs/etl", "reader-token", http.StatusForbidden},
	} {
		var headers []string
		if tc.token != "" {
			headers = []string{"Authorization", "Bearer " + tc.token}
		}
		if rec := serve(t, h, nil, tc.method, tc.path, `{}`, headers...); rec.Code != tc.code {
			t.Errorf("%s %s with %q: %d, want %d: %s", tc.method, tc.path, tc.token, rec.Code, tc.code, rec.Body)
		}
	}
	if calls := f.made(); len(calls) > 0 {
		t.Errorf("the backend was called: %v", calls)
	}
	if rec := serve(t, h, nil, "GET", "/api/v1/agents", "", "Authorization", "Bearer reader-token"); rec.Code != http.StatusOK {
		t.Errorf("GET /api/v1/agents as a reader: %d: %s", rec.Code, rec.Body)
	}
}
