package testutil

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Route is one method and path a server serves. BodyLimit is the largest
// body its handler reads (0: the handler reads none).
type Route struct {
	Method, Path string
	BodyLimit    int64
}

// CheckRoutes checks what every server must do on every route: a declared
// body over serverLimit gets 413 naming that limit; a streamed (chunked)
// body over the route's BodyLimit gets 413 naming it; any method the path
// does not serve gets 405 with an Allow header listing exactly the ones it
// does (HEAD aside).
func CheckRoutes(t *testing.T, baseURL string, serverLimit int64, routes []Route) {
	t.Helper()
	u, err := url.Parse(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string][]string{}
	var paths []string
	for _, r := range routes {
		if _, ok := allowed[r.Path]; !ok {
			paths = append(paths, r.Path)
		}
		allowed[r.Path] = append(allowed[r.Path], r.Method)
	}
	for _, r := range routes {
		t.Run("413 declared "+r.Method+" "+r.Path, func(t *testing.T) {
			code, _, body := RawRequest(t, u.Host, r.Method, r.Path, serverLimit+1, false)
			checkTooLarge(t, code, body, serverLimit)
		})
		if r.BodyLimit > 0 {
			t.Run("413 streamed "+r.Method+" "+r.Path, func(t *testing.T) {
				code, _, body := RawRequest(t, u.Host, r.Method, r.Path, r.BodyLimit+1, true)
				checkTooLarge(t, code, body, r.BodyLimit)
			})
		}
	}
	for _, p := range paths {
		want := allowed[p]
		var bad []string
		for _, m := range []string{http.MethodTrace, http.MethodDelete, http.MethodPut, http.MethodPost, http.MethodGet, http.MethodPatch} {
			if !slices.Contains(want, m) {
				bad = append(bad, m)
			}
		}
		for _, m := range bad {
			t.Run("405 "+m+" "+p, func(t *testing.T) {
				code, hdr, body := RawRequest(t, u.Host, m, p, 0, false)
				if code != http.StatusMethodNotAllowed {
					t.Fatalf("%s %s: %d %s, want 405", m, p, code, body)
				}
				var got []string
				for _, a := range strings.Split(hdr.Get("Allow"), ",") {
					if a = strings.TrimSpace(a); a != "" && a != http.MethodHead {
						got = append(got, a)
					}
				}
				w := slices.Clone(want)
				slices.Sort(got)
				slices.Sort(w)
				if !slices.Equal(got, w) {
					t.Fatalf("%s %s: Allow %q, want %v", m, p, hdr.Get("Allow"), w)
				}
			})
		}
	}
}

func checkTooLarge(t *testing.T, code int, body []byte, limit int64) {
	t.Helper()
	var e struct {
		Message string           `json:"message"`
		Details map[string]int64 `json:"details"`
	}
	if code != http.StatusRequestEntityTooLarge || json.Unmarshal(body, &e) != nil ||
		e.Details["limit_bytes"] != limit || !strings.Contains(e.Message, fmt.Sprint(limit)) {
		t.Fatalf("%d %s, want 413 naming the limit %d", code, body, limit)
	}
}

// RawRequest sends one request on a fresh connection to addr and returns
// the answer. With size > 0 it carries a JSON-looking body of size bytes:
// declared with Content-Length (only its first byte sent) or, with
// chunked, streamed until the server stops reading. A raw connection
// because a client library would stop at its own limits or hide the
// server's early answer.
func RawRequest(t testing.TB, addr, method, path string, size int64, chunked bool) (int, http.Header, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	hdr := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nConnection: close\r\n", method, path, addr)
	var wg sync.WaitGroup
	defer wg.Wait()
	switch {
	case size > 0 && chunked:
		if _, err := io.WriteString(c, hdr+"Transfer-Encoding: chunked\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { // stops at the first write error: the server closed
			defer wg.Done()
			chunk := strings.Repeat("a", 32<<10)
			if _, err := fmt.Fprintf(c, "%x\r\n%s\r\n", 6, `{"x":"`); err != nil {
				return
			}
			for sent := int64(6); sent < size; sent += int64(len(chunk)) {
				if _, err := fmt.Fprintf(c, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
					return
				}
			}
			_, _ = io.WriteString(c, "0\r\n\r\n")
		}()
	case size > 0:
		if _, err := fmt.Fprintf(c, "%sContent-Length: %d\r\n\r\n{", hdr, size); err != nil {
			t.Fatal(err)
		}
	default:
		if _, err := io.WriteString(c, hdr+"Content-Length: 0\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: reading the answer's body: %v", method, path, err)
	}
	_ = c.Close() // unblocks the writer
	return resp.StatusCode, resp.Header, body
}
