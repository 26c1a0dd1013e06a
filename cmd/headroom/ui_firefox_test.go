package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/internal/testutil/bidi"
)

func needFirefox(t *testing.T) string {
	t.Helper()
	return needBrowser(t, "firefox-esr", "over WebDriver BiDi")
}

// firefox is a headless Firefox on one tab, recording the errors its
// pages log: console.error calls and uncaught exceptions alike.
type firefox struct {
	t   *testing.T
	b   *bidi.Browser
	tab string

	mu     sync.Mutex
	errors []string
}

func startFirefox(t *testing.T) *firefox {
	t.Helper()
	exe := needFirefox(t)
	f := &firefox{t: t}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := bidi.Start(ctx, bidi.Options{
		Exe: exe, Profile: t.TempDir(),
		Log: func(line string) { t.Logf("firefox: %s", line) },
		OnEvent: func(method string, params json.RawMessage) {
			if method != "log.entryAdded" {
				return
			}
			var e struct {
				Type   string `json:"type"`
				Level  string `json:"level"`
				Text   string `json:"text"`
				Method string `json:"method"`
				Source struct {
					Context string `json:"context"`
				} `json:"source"`
				StackTrace struct {
					CallFrames []struct {
						URL    string `json:"url"`
						Line   int    `json:"lineNumber"`
						Column int    `json:"columnNumber"`
					} `json:"callFrames"`
				} `json:"stackTrace"`
			}
			if json.Unmarshal(params, &e) != nil || e.Level != "error" {
				return
			}
			msg := e.Type + " " + e.Method + ": " + e.Text
			if fr := e.StackTrace.CallFrames; len(fr) > 0 {
				msg += fmt.Sprintf(" at %s:%d:%d", fr[0].URL, fr[0].Line+1, fr[0].Column+1)
			}
			f.mu.Lock()
			f.errors = append(f.errors, msg)
			f.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatalf("starting firefox: %v", err)
	}
	f.b = b
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Logf("closing firefox: %v", err)
		}
	})
	if err := b.Call(ctx, "session.subscribe", map[string]any{"events": []string{"log.entryAdded"}}, nil); err != nil {
		t.Fatalf("subscribing to firefox's log: %v", err)
	}
	if f.tab, err = b.TopContext(ctx); err != nil {
		t.Fatalf("firefox's tab: %v", err)
	}
	return f
}

// load navigates to url and waits until ready is true, then fails the
// test on any error the page logged, naming it.
func (f *firefox) load(name, url, ready string, timeout time.Duration) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := f.b.Navigate(ctx, f.tab, url); err != nil {
		f.t.Fatalf("page %s: %v", name, err)
	}
	f.wait(ctx, name, ready)
}

// wait waits for ready, then checks the page's errors.
func (f *firefox) wait(ctx context.Context, name, ready string) {
	f.t.Helper()
	if err := f.b.WaitTrue(ctx, f.tab, ready, 100*time.Millisecond); err != nil {
		body, _ := f.b.Evaluate(context.Background(), f.tab, `document.querySelector('#main') ? document.querySelector('#main').innerText : ''`)
		f.t.Fatalf("page %s: %v\npage: %s\nerrors: %v", name, err, body, f.take())
	}
	for _, e := range f.take() {
		f.t.Errorf("page %s in firefox: %s", name, e)
	}
}

// probe makes the page log an error of each kind the test looks for and
// waits until both are recorded: a listener that hears nothing would
// pass every page.
func (f *firefox) probe() {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := f.b.Evaluate(ctx, f.tab, `console.error('probe: console'); setTimeout(() => { throw new Error('probe: uncaught'); }, 0)`); err != nil {
		f.t.Fatalf("probing firefox's log: %v", err)
	}
	var got []string
	for !slices.ContainsFunc(got, func(e string) bool { return strings.Contains(e, "probe: uncaught") }) ||
		!slices.ContainsFunc(got, func(e string) bool { return strings.Contains(e, "probe: console") }) {
		select {
		case <-ctx.Done():
			f.t.Fatalf("firefox's log never reported the probe's errors; got %q", got)
		case <-time.After(50 * time.Millisecond):
		}
		got = append(got, f.take()...)
	}
	if len(got) != 2 {
		f.t.Fatalf("the probe's two errors came as %q", got)
	}
}

func (f *firefox) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	errs := f.errors
	f.errors = nil
	return errs
}

// Every read-only page of the web UI in Firefox, against a real master
// and agent, with the token kept in the session as the login form keeps
// it: each page shows its data and logs no error, neither from the
// console nor uncaught.
func TestWebUIFirefox(t *testing.T) {
	needFirefox(t)
	u := startUICluster(t)
	if err := u.client.Do(context.Background(), http.MethodPost, "/v2/apps", []byte(uiApp), nil); err != nil {
		t.Fatalf("deploying an app: %v", err)
	}
	const long = 90 * time.Second
	taskID := u.runningTask(long)

	f := startFirefox(t)
	ui := u.master + "/ui/"
	f.load("login", ui, `document.querySelector('#token') !== null`, long)
	f.probe()
	// The login form, as a person fills it in: the token goes to the
	// session's storage and the overview loads with it.
	ctx, cancel := context.WithTimeout(context.Background(), long)
	defer cancel()
	if _, err := f.b.Evaluate(ctx, f.tab, `(() => { document.querySelector('#token').value = `+strconv.Quote(u.token)+
		`; document.querySelector('#login-save').click(); })()`); err != nil {
		t.Fatalf("logging in: %v", err)
	}
	f.wait(ctx, "overview", overviewReady+` && sessionStorage.length === 1`)

	for _, p := range []struct{ name, hash, ready string }{
		{"agents", "#/agents", rowReady("agents-table", u.agentID)},
		{"host", "#/agents/" + u.agentID, hostChartReady + ` && document.querySelector('#applied-now') !== null`},
		{"apps", "#/apps", appRunning(1)},
		{"jobs", "#/jobs", jobsReady},
		{"frameworks", "#/frameworks", frameworksReady},
		{"tasks", "#/tasks", rowReady("tasks-table", taskID)},
		{"task", "#/tasks/" + taskID, logTailReady},
		// A fresh load of a page deep in the UI, not only a change of hash.
		{"overview (reloaded)", "?reload#/", overviewReady},
	} {
		f.load(p.name, ui+p.hash, p.ready, long)
	}

	// Without a token the pages say what is missing, with no script error.
	if _, err := f.b.Evaluate(ctx, f.tab, `document.querySelector('#login-clear').click()`); err != nil {
		t.Fatalf("logging out: %v", err)
	}
	f.wait(ctx, "logged out", loggedOutReady+` && sessionStorage.length === 0`)
}
