package httpserver

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestBearerAuth: the right token passes, exempt paths need none, and a
// refusal is a 401 whose details say which token to send.
func TestBearerAuth(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := BearerAuth("s3cret", "send the agent's token", ok, "/metrics")
	for _, c := range []struct {
		path, auth string
		code       int
		body       string
	}{
		{"/api/v1/state", "Bearer s3cret", http.StatusNoContent, ""},
		{"/metrics", "", http.StatusNoContent, ""},
		{"/api/v1/state", "", http.StatusUnauthorized,
			"{\n  \"message\": \"missing or wrong bearer token\",\n  \"details\": \"send the agent's token\"\n}\n"},
		{"/api/v1/state", "Bearer other", http.StatusUnauthorized,
			"{\n  \"message\": \"missing or wrong bearer token\",\n  \"details\": \"send the agent's token\"\n}\n"},
	} {
		req := httptest.NewRequest(http.MethodGet, c.path, nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.code || rec.Body.String() != c.body {
			t.Errorf("GET %s (%q): %d %q, want %d %q", c.path, c.auth, rec.Code, rec.Body.String(), c.code, c.body)
		}
	}
	rec := httptest.NewRecorder()
	BearerAuth("s3cret", "", ok).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if want := "{\n  \"message\": \"missing or wrong bearer token\"\n}\n"; rec.Body.String() != want {
		t.Errorf("no hint: %q, want %q", rec.Body.String(), want)
	}
	rec = httptest.NewRecorder()
	BearerAuth("", "hint", ok).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusNoContent {
		t.Errorf("an empty token (auth off): %d, want 204", rec.Code)
	}
}
