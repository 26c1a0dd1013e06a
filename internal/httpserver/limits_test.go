package httpserver

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// serve runs Serve on a loopback port with h and l until the test ends.
func serve(t *testing.T, h http.Handler, l Limits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, Config{Listener: ln, Handler: h, Limits: l, Logger: slog.New(slog.DiscardHandler)})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func uploadMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			BodyError(w, "invalid upload", err)
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"ok": "yes"})
	})
	mux.HandleFunc("POST /heartbeat", func(w http.ResponseWriter, r *http.Request) {
		var hb map[string]string
		if err := json.NewDecoder(r.Body).Decode(&hb); err != nil {
			BodyError(w, "invalid heartbeat", err)
			return
		}
		WriteJSON(w, http.StatusOK, hb)
	})
	return mux
}

// TestSlowUploadsAreCut: bodies that trickle in a byte at a time are cut
// at the read bound (the connection closes), their goroutines go, and
// heartbeats are answered all along.
func TestSlowUploadsAreCut(t *testing.T) {
	const n = 60
	readTimeout := 500 * time.Millisecond
	base := serve(t, uploadMux(), Limits{ReadTimeout: readTimeout})
	baseline := runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	var closed atomic.Int32
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if _, err := fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		wg.Add(2)
		go func() { // the trickle: one byte every 50 ms, far below the length
			defer wg.Done()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					if _, err := c.Write([]byte("x")); err != nil {
						return
					}
				}
			}
		}()
		go func() { // the client side: whatever comes back, then EOF
			defer wg.Done()
			_, _ = io.Copy(io.Discard, c)
			closed.Add(1)
		}()
	}
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})

	client := &http.Client{Timeout: 5 * time.Second}
	beats := 0
	waitFor(t, readTimeout+20*time.Second, "every slow upload closed by the server", func() bool {
		resp, err := client.Post(base+"/heartbeat", "application/json", strings.NewReader(`{"agent_id":"a1"}`))
		if err != nil {
			t.Fatalf("heartbeat during slow uploads: %v", err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("heartbeat during slow uploads: %s", resp.Status)
		}
		beats++
		return closed.Load() == n
	})
	if beats == 0 {
		t.Fatal("no heartbeat made")
	}
	cancel()
	wg.Wait()
	client.CloseIdleConnections()
	waitFor(t, 10*time.Second, "goroutines back near the baseline", func() bool {
		return runtime.NumGoroutine() <= baseline+5
	})
}

// TestSlowUploadAnswer408: a handler whose body read is cut says so.
func TestSlowUploadAnswer408(t *testing.T) {
	base := serve(t, uploadMux(), Limits{ReadTimeout: 300 * time.Millisecond})
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nab"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("status %s, want 408", resp.Status)
	}
}

// TestLongResponseOutlivesReadTimeout: once its body is read, a handler
// may run past ReadTimeout (an event stream) without its context being
// cancelled, when it lifts its write deadline.
func TestLongResponseOutlivesReadTimeout(t *testing.T) {
	readTimeout := 200 * time.Millisecond
	var ctxErr atomic.Value
	mux := http.NewServeMux()
	mux.HandleFunc("POST /stream", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			BodyError(w, "invalid", err)
			return
		}
		if err := LiftWriteDeadline(w); err != nil {
			t.Errorf("LiftWriteDeadline: %v", err)
		}
		for range 3 {
			select {
			case <-r.Context().Done():
				ctxErr.Store(r.Context().Err().Error())
				return
			case <-time.After(readTimeout):
			}
			_, _ = io.WriteString(w, "event\n")
			_ = http.NewResponseController(w).Flush()
		}
	})
	base := serve(t, mux, Limits{ReadTimeout: readTimeout, WriteTimeout: readTimeout})
	resp, err := http.Post(base+"/stream", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if v := ctxErr.Load(); v != nil {
		t.Fatalf("stream context ended: %v", v)
	}
	if got := strings.Count(string(body), "event\n"); got != 3 {
		t.Fatalf("%d events, want 3: %q", got, body)
	}
}

// TestBodyLimit413: declared and chunked bodies over the limit get 413
// naming it, whether or not the route reads its body.
func TestBodyLimit413(t *testing.T) {
	const limit = 1024
	mux := uploadMux().(*http.ServeMux)
	mux.HandleFunc("GET /ignores-body", func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusOK, "ok")
	})
	base := serve(t, mux, Limits{MaxBodyBytes: limit})
	big := strings.Repeat("x", limit+1)
	for _, tc := range []struct {
		name, method, path string
		body               io.Reader
	}{
		{"declared", http.MethodPost, "/upload", strings.NewReader(big)},
		{"chunked", http.MethodPost, "/upload", io.MultiReader(strings.NewReader(big))},
		{"declared on a GET", http.MethodGet, "/ignores-body", strings.NewReader(big)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, base+tc.path, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct {
				Message string           `json:"message"`
				Details map[string]int64 `json:"details"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusRequestEntityTooLarge || e.Details["limit_bytes"] != limit ||
				!strings.Contains(e.Message, fmt.Sprint(limit)) {
				t.Fatalf("%s %+v, want 413 naming the limit %d", resp.Status, e, limit)
			}
		})
	}
}
