package httpserver

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
)

// errorBody is the JSON error of every headroom API: {"message","details"}.
type errorBody struct {
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

// WriteJSON writes v as JSON with the status code.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	b, err := json.Marshal(v)
	if err != nil {
		// What json.Encoder wrote for a value it cannot encode: nothing
		// after the status.
		w.WriteHeader(code)
		return
	}
	w.WriteHeader(code)
	// The bytes json.Encoder with SetIndent("", "  ") writes, faster.
	out := appendIndent(make([]byte, 0, len(b)+len(b)/2), b)
	_, _ = w.Write(append(out, '\n'))
}

// WriteError writes a JSON error with the status code.
func WriteError(w http.ResponseWriter, code int, msg string, details any) {
	WriteJSON(w, code, errorBody{Message: msg, Details: details})
}

// BearerAuth requires "Authorization: Bearer <token>" on every request but
// the exempt paths, comparing in constant time. An empty token disables it.
// hint, the refusal's details, tells the caller which token to send: a
// bare 401 leaves them guessing among the credentials they hold.
func BearerAuth(token, hint string, next http.Handler, exempt ...string) http.Handler {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range exempt {
			if r.URL.Path == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(r.URL.Path, p)) {
				next.ServeHTTP(w, r)
				return
			}
		}
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="headroom"`)
			var details any
			if hint != "" {
				details = hint
			}
			WriteError(w, http.StatusUnauthorized, "missing or wrong bearer token", details)
			return
		}
		next.ServeHTTP(w, r)
	})
}
