package apps

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func hostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

// closedPort returns a port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, p := hostPort(t, l.Addr().String())
	l.Close()
	return p
}

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusNoContent)
		case "/redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "/slow":
			time.Sleep(200 * time.Millisecond)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	host, port := hostPort(t, srv.Listener.Addr().String())
	closed := closedPort(t)
	tests := []struct {
		name string
		p    Probe
		ok   bool
	}{
		{"http 204", Probe{Protocol: "HTTP", Path: "/ok"}, true},
		{"http redirect not followed", Probe{Protocol: "HTTP", Path: "/redirect"}, true},
		{"http 503", Probe{Protocol: "HTTP", Path: "/bad"}, false},
		{"http timeout", Probe{Protocol: "HTTP", Path: "/slow", Timeout: 50 * time.Millisecond}, false},
		{"http closed port", Probe{Protocol: "HTTP", Path: "/ok", Port: closed}, false},
		{"tcp open", Probe{Protocol: "TCP"}, true},
		{"tcp closed port", Probe{Protocol: "TCP", Port: closed}, false},
		{"unknown protocol", Probe{Protocol: "UDP"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			p.TaskID, p.Host = "web.1", host
			if p.Port == 0 {
				p.Port = port
			}
			if p.Timeout == 0 {
				p.Timeout = 2 * time.Second
			}
			err := p.Run(context.Background(), nil)
			if (err == nil) != tt.ok {
				t.Fatalf("Run() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
