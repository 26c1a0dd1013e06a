package api

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
	"time"
)

// Client calls a headroom master. It takes every master's URL: a standby
// answers 307 to the leader, which the HTTP client follows, and a master
// that does not answer is skipped for the next one in the list.
type Client struct {
	URLs  []string
	Token string
	HTTP  *http.Client
}

// NewClient parses a comma-separated list of master URLs.
func NewClient(masters, token string) (*Client, error) {
	var urls []string
	for _, u := range strings.Split(masters, ",") {
		u = strings.TrimRight(strings.TrimSpace(u), "/")
		if u == "" {
			continue
		}
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, fmt.Errorf("master URL %q: want http(s)://host:port", u)
		}
		urls = append(urls, u)
	}
	if len(urls) == 0 {
		return nil, errors.New("no master URL")
	}
	return &Client{URLs: urls, Token: token, HTTP: &http.Client{Timeout: 30 * time.Second, CheckRedirect: KeepAuthOnRedirect}}, nil
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
	Body Error
	Raw  string
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

// Do sends body (nil for none) as JSON and decodes the answer into out
// (nil to discard it).
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var data []byte
	if body != nil {
		var err error
		if raw, ok := body.([]byte); ok {
			data = raw
		} else if data, err = json.Marshal(body); err != nil {
			return err
		}
	}
	var errs []error
	for _, base := range c.URLs {
		err := c.do(ctx, method, base+path, data, out)
		if err == nil {
			return nil
		}
		var se *StatusError
		if errors.As(err, &se) && se.Code != http.StatusServiceUnavailable {
			return err // the master answered: another would say the same
		}
		if ctx.Err() != nil {
			return err
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c *Client) do(ctx context.Context, method, u string, data []byte, out any) error {
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
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		se := &StatusError{Code: resp.StatusCode, Raw: string(b)}
		_ = json.Unmarshal(b, &se.Body)
		return se
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decoding the answer: %w", method, u, err)
	}
	return nil
}
