package testutil

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// FuzzRequest is what the route fuzz tests vary: the method, the path
// (with its query), one header and the body.
type FuzzRequest struct {
	Method, Path      string
	Header, HeaderVal string
	Body              []byte
}

// Build turns the fuzzed values into a request, or reports false for
// values no HTTP server would ever hand a handler (a method that is not a
// token, a path that does not parse, a header with a line break): those
// are the server's to refuse, not the handlers'.
func (fr FuzzRequest) Build(ctx context.Context) (*http.Request, bool) {
	if !strings.HasPrefix(fr.Path, "/") || !isToken(fr.Method) {
		return nil, false
	}
	req, err := http.NewRequestWithContext(ctx, fr.Method, "http://fuzz.test"+fr.Path, bytes.NewReader(fr.Body))
	if err != nil {
		return nil, false
	}
	req.RequestURI = fr.Path
	if fr.Header != "" {
		if !isToken(fr.Header) || strings.ContainsAny(fr.HeaderVal, "\r\n\x00") {
			return nil, false
		}
		req.Header.Set(fr.Header, fr.HeaderVal)
	}
	return req, true
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return true
}

// ServeFuzzed serves one fuzzed request with h in process and returns the
// status (0 when the values make no request). The request's context ends
// as soon as the status is written, so a long-lived answer (an event
// stream) ends there too; bound is the most any request may take.
func ServeFuzzed(t *testing.T, h http.Handler, fr FuzzRequest, bound time.Duration) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	req, ok := fr.Build(ctx)
	if !ok {
		return 0
	}
	rec := &cancelRecorder{ResponseRecorder: httptest.NewRecorder(), cancel: cancel}
	h.ServeHTTP(rec, req)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.Code
}

// cancelRecorder is a ResponseRecorder that cancels the request when the
// status is written, and may be written by the handler's goroutines.
type cancelRecorder struct {
	mu sync.Mutex
	*httptest.ResponseRecorder
	cancel context.CancelFunc
}

func (r *cancelRecorder) WriteHeader(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ResponseRecorder.WriteHeader(code)
	r.cancel()
}

func (r *cancelRecorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.ResponseRecorder.Write(b)
	r.cancel()
	return n, err
}

func (r *cancelRecorder) Flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ResponseRecorder.Flush()
}

// Unwrap lets http.ResponseController reach the recorder.
func (r *cancelRecorder) Unwrap() http.ResponseWriter { return r.ResponseRecorder }

// CheckFuzzed fails on a 5xx, the invariant of every route: bad input is
// the client's fault (4xx), never the server's.
func CheckFuzzed(t *testing.T, fr FuzzRequest, code int) {
	t.Helper()
	if code >= 500 {
		t.Fatalf("%s %q (header %q: %q) body %q: status %d", fr.Method, fr.Path, fr.Header, fr.HeaderVal, fr.Body, code)
	}
}
