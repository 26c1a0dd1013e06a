package agentproto

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/headroom-dev/headroom/api"
)

// Routes of the protocol. The master serves the first two, every agent
// the task routes.
const (
	RegisterPath = "/api/v1/agents/register"
	LaunchPath   = "/api/v1/tasks"
)

// HeartbeatPath is where agent id heartbeats.
func HeartbeatPath(agentID string) string {
	return "/api/v1/agents/" + url.PathEscape(agentID) + "/heartbeat"
}

// KillPath is the agent's route that kills a task.
func KillPath(taskID string) string { return "/api/v1/tasks/" + url.PathEscape(taskID) + "/kill" }

// CheckPath is the agent's route that runs a task's COMMAND check.
func CheckPath(taskID string) string { return "/api/v1/tasks/" + url.PathEscape(taskID) + "/check" }

// CheckSlack is added to a check's own timeout for the call: the agent
// needs a moment to start the command and to answer after killing it,
// and its answer must not be cut off by the caller's deadline.
const CheckSlack = 5 * time.Second

// maxAnswerBytes caps what is read of an answer: a task list of a large
// cluster is a few megabytes.
const maxAnswerBytes = 64 << 20

// ErrUndecodable marks a 2xx answer whose body is not the expected JSON:
// the peer answered, so it is not a transport failure.
var ErrUndecodable = errors.New("decoding the answer")

// Client calls headroom over HTTP: agents and the CLI call the masters
// with it, the master calls its agents with it. It takes every peer's URL
// (for the masters: a standby answers 307 to the leader, which the HTTP
// client follows, and a master that does not answer is skipped for the
// next one in the list).
type Client struct {
	URLs  []string
	Token string
	HTTP  *http.Client

	mu      sync.Mutex
	current int // index into URLs of the peer that last answered
}

// NewClient parses a comma-separated list of master URLs.
func NewClient(masters, token string) (*Client, error) {
	return New(strings.Split(masters, ","), token, nil)
}

// New checks urls (blank entries are skipped) and builds a client. A nil
// hc is a client with a 30 s timeout that keeps the bearer token on
// redirects.
func New(urls []string, token string, hc *http.Client) (*Client, error) {
	var clean []string
	for _, u := range urls {
		u = strings.TrimRight(strings.TrimSpace(u), "/")
		if u == "" {
			continue
		}
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, fmt.Errorf("master URL %q: want http(s)://host:port", u)
		}
		clean = append(clean, u)
	}
	if len(clean) == 0 {
		return nil, errors.New("no master URL")
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second, CheckRedirect: KeepAuthOnRedirect}
	}
	return &Client{URLs: clean, Token: token, HTTP: hc}, nil
}

// KeepAuthOnRedirect follows up to 5 redirects and keeps the bearer token:
// Go drops Authorization when a redirect changes host, but a standby
// master's redirect to the leader is the normal path, not a leak.
func KeepAuthOnRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	if auth := via[0].Header.Get("Authorization"); auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return nil
}

// StatusError is a non-2xx answer.
type StatusError struct {
	Code int
	Body api.Error
	Raw  string
}

// NewStatusError decodes a non-2xx answer's body (api.Error when it is
// one; the raw text otherwise).
func NewStatusError(code int, body []byte) *StatusError {
	se := &StatusError{Code: code, Raw: string(body)}
	_ = json.Unmarshal(body, &se.Body)
	return se
}

func (e *StatusError) Error() string {
	msg := e.Body.Message
	if msg == "" {
		msg = strings.TrimSpace(e.Raw)
	}
	if d := detailsText(e.Body.Details); d != "" {
		msg += ": " + d
	}
	return fmt.Sprintf("%d %s: %s", e.Code, http.StatusText(e.Code), msg)
}

// detailsText renders an error's details for a terminal: a string as it
// is (not re-quoted, so its own quotes read cleanly), field errors as
// "path: reason; path: reason", anything else as JSON without HTML
// escapes (a "\u003e" in place of ">" helps no one reading an error).
func detailsText(d any) string {
	switch v := d.(type) {
	case nil:
		return ""
	case string:
		return v
	case []any:
		var parts []string
		for _, item := range v {
			fe, ok := item.(map[string]any)
			path, okPath := fe["path"].(string)
			reasons, okErrs := fe["errors"].([]any)
			if !ok || !okPath || !okErrs {
				return rawJSON(d)
			}
			var rs []string
			for _, r := range reasons {
				rs = append(rs, fmt.Sprint(r))
			}
			parts = append(parts, path+": "+strings.Join(rs, ", "))
		}
		return strings.Join(parts, "; ")
	default:
		return rawJSON(d)
	}
}

func rawJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(b.String())
}

// IsStatus reports whether err is an answer with the given status code.
func IsStatus(err error, code int) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == code
}

// Current is the URL of the peer that last answered (the first one until
// then).
func (c *Client) Current() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.URLs[c.current]
}

// Do sends body (nil for none; []byte as is, anything else as JSON) and
// decodes the answer into out (nil to discard it). It starts at the peer
// that last answered and moves on to the next one when a peer does not
// answer or answers 503 (a standby without a leader); any other answer is
// final, since another master would say the same.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	return c.doWith(ctx, c.HTTP, method, path, body, out)
}

func (c *Client) doWith(ctx context.Context, hc *http.Client, method, path string, body, out any) error {
	var data []byte
	if body != nil {
		var err error
		if raw, ok := body.([]byte); ok {
			data = raw
		} else if data, err = json.Marshal(body); err != nil {
			return fmt.Errorf("%s %s: encoding the body: %w", method, path, err)
		}
	}
	c.mu.Lock()
	start := c.current
	c.mu.Unlock()
	var errs []error
	for i := range c.URLs {
		idx := (start + i) % len(c.URLs)
		err := c.do(ctx, hc, method, c.URLs[idx]+path, data, out)
		var se *StatusError
		if err == nil || errors.Is(err, ErrUndecodable) || errors.As(err, &se) && se.Code != http.StatusServiceUnavailable {
			c.mu.Lock()
			c.current = idx
			c.mu.Unlock()
			return err
		}
		if ctx.Err() != nil {
			return err
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c *Client) do(ctx context.Context, hc *http.Client, method, u string, data []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(data))
	if err != nil {
		return err
	}
	if data != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, u, err)
	}
	if resp.StatusCode/100 != 2 {
		return NewStatusError(resp.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: %w: %w", method, u, ErrUndecodable, err)
	}
	return nil
}

// Launch asks the agent to run a task (202 when it is accepted: the task
// is then staging, and its statuses come back on heartbeats).
func (c *Client) Launch(ctx context.Context, info api.TaskInfo) error {
	if err := c.Do(ctx, http.MethodPost, LaunchPath, info, nil); err != nil {
		return fmt.Errorf("launching task %q on %s: %w", info.ID, c.Current(), err)
	}
	return nil
}

// Kill asks the agent to kill a task.
func (c *Client) Kill(ctx context.Context, taskID string, req KillRequest) error {
	if err := c.Do(ctx, http.MethodPost, KillPath(taskID), req, nil); err != nil {
		return fmt.Errorf("killing task %q on %s: %w", taskID, c.Current(), err)
	}
	return nil
}

// Check asks the agent to run a COMMAND health check in a task. The call
// is bounded by the check's own timeout plus CheckSlack, not by the HTTP
// client's overall timeout: a check may legitimately run for minutes. A
// non-200 answer is a *StatusError (the check could not be made), a 200
// that does not decode wraps ErrUndecodable.
func (c *Client) Check(ctx context.Context, taskID string, req CheckRequest) (CheckResult, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(req.TimeoutSeconds*float64(time.Second))+CheckSlack)
	defer cancel()
	hc := *c.HTTP
	hc.Timeout = 0
	var r CheckResult
	if err := c.doWith(ctx, &hc, http.MethodPost, CheckPath(taskID), req, &r); err != nil {
		return CheckResult{}, fmt.Errorf("health check of task %q on %s: %w", taskID, c.Current(), err)
	}
	return r, nil
}
