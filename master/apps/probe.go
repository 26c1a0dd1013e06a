package apps

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Probe is one HTTP or TCP health check to run against a task's host.
type Probe struct {
	TaskID   string
	Check    int // index in the app's healthChecks, for HealthCheckResult
	Protocol string
	Host     string
	Port     int
	Path     string
	Timeout  time.Duration
}

// Run performs the probe: HTTP expects a 2xx or 3xx answer to a GET
// (redirects are not followed: a redirect proves the server is up), TCP a
// successful connect. A nil client gets a private one, so the caller's
// default transport settings are never changed. This is the package's only
// I/O; the master runs probes on its own goroutines.
func (p Probe) Run(ctx context.Context, client *http.Client) error {
	if p.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.Timeout)
		defer cancel()
	}
	addr := net.JoinHostPort(p.Host, strconv.Itoa(p.Port))
	switch p.Protocol {
	case "TCP":
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("task %s: tcp check %s: %w", p.TaskID, addr, err)
		}
		return conn.Close()
	case "HTTP":
		if client == nil {
			client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			}}
		}
		path := p.Path
		if path == "" {
			path = "/"
		}
		url := "http://" + addr + path
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("task %s: http check %s: %w", p.TaskID, url, err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("task %s: http check %s: %w", p.TaskID, url, err)
		}
		// The body is not read: only the status matters, and closing
		// without draining just costs the connection's reuse.
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 399 {
			return fmt.Errorf("task %s: http check %s: status %d", p.TaskID, url, resp.StatusCode)
		}
		return nil
	}
	return fmt.Errorf("task %s: %w: %q", p.TaskID, errUnknownProtocol, p.Protocol)
}

var errUnknownProtocol = errors.New("unknown probe protocol")
