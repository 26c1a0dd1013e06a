package bidi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// Options say how to start the browser.
type Options struct {
	// Exe is the browser's executable (firefox-esr).
	Exe string
	// Profile is an empty directory the browser keeps its profile in;
	// the caller removes it once Close has returned.
	Profile string
	// Log receives the browser's own output, line by line; nil drops it.
	Log func(line string)
	// OnEvent receives every event the session subscribed to, on the
	// connection's reading goroutine: it must not block or call the
	// browser.
	OnEvent func(method string, params json.RawMessage)
}

// Browser is a running browser and its BiDi session.
type Browser struct {
	cmd     *exec.Cmd
	conn    *websocket.Conn
	onEvent func(string, json.RawMessage)
	read    chan struct{} // closed when the reading goroutine ends
	exited  chan struct{} // closed when the process has been reaped
	waitErr error         // how it ended, once exited is closed

	writeMu sync.Mutex // gorilla allows one writer at a time
	mu      sync.Mutex
	next    int
	waiting map[int]chan message
	readErr error
}

// message is anything the browser sends: an answer to a command (id set)
// or an event.
type message struct {
	Type    string          `json:"type"`
	ID      *int            `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

// Error is a command the browser refused.
type Error struct {
	Method, Code, Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s: %s", e.Method, e.Code, e.Message) }

// listening is how Firefox says where its BiDi server is.
var listening = regexp.MustCompile(`WebDriver BiDi listening on (ws://\S+)`)

// Start starts the browser headless and opens a session. ctx bounds the
// start; the browser runs until Close.
func Start(ctx context.Context, opts Options) (*Browser, error) {
	// Prefs for a browser nobody looks at: no first-run pages, no
	// update or telemetry traffic from a host that is often offline.
	prefs := `user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.update.disabledForTesting", true);
user_pref("messaging-system.rsexperimentloader.enabled", false);
`
	if err := os.WriteFile(filepath.Join(opts.Profile, "user.js"), []byte(prefs), 0o644); err != nil {
		return nil, fmt.Errorf("writing the prefs of profile %s: %w", opts.Profile, err)
	}
	out := &lineWriter{log: opts.Log, found: make(chan string, 1)}
	cmd := exec.Command(opts.Exe, "--headless", "--no-remote", "--profile", opts.Profile, "--remote-debugging-port", "0")
	cmd.Env = append(os.Environ(), "MOZ_HEADLESS=1")
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that Close ends the content processes
	// with it; and Wait does not hang on one that kept the output open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", opts.Exe, err)
	}
	b := &Browser{cmd: cmd, onEvent: opts.OnEvent, read: make(chan struct{}), exited: make(chan struct{}),
		waiting: map[int]chan message{}}
	// Reaps the process, whenever it ends: a browser that dies at start
	// is reported at once rather than when ctx runs out.
	go func() {
		b.waitErr = cmd.Wait()
		close(b.exited)
	}()
	fail := func(err error) (*Browser, error) {
		if b.conn != nil {
			_ = b.conn.Close()
			<-b.read
		}
		b.kill()
		return nil, err
	}
	var url string
	select {
	case url = <-out.found:
	case <-b.exited:
		return fail(fmt.Errorf("%s exited before it listened for WebDriver BiDi: %w", opts.Exe, b.waitErr))
	case <-ctx.Done():
		return fail(fmt.Errorf("%s never said where it listens for WebDriver BiDi: %w", opts.Exe, ctx.Err()))
	}
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, url+"/session", nil)
	if err != nil {
		return fail(fmt.Errorf("connecting to %s/session: %w", url, err))
	}
	b.conn = conn
	// Reads until the connection ends: Close closes it and waits.
	go b.readLoop()
	if err := b.Call(ctx, "session.new", map[string]any{"capabilities": map[string]any{}}, nil); err != nil {
		return fail(err)
	}
	return b, nil
}

// Call sends a command and waits for its answer, decoded into result
// when it is not nil.
func (b *Browser) Call(ctx context.Context, method string, params, result any) error {
	if params == nil {
		params = struct{}{}
	}
	b.mu.Lock()
	if b.readErr != nil {
		err := b.readErr
		b.mu.Unlock()
		return fmt.Errorf("%s: the connection is gone: %w", method, err)
	}
	b.next++
	id := b.next
	ch := make(chan message, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.waiting, id)
		b.mu.Unlock()
	}()

	b.writeMu.Lock()
	err := b.conn.WriteJSON(map[string]any{"id": id, "method": method, "params": params})
	b.writeMu.Unlock()
	if err != nil {
		return fmt.Errorf("sending %s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Type == "error" {
			return &Error{Method: method, Code: m.Error, Message: m.Message}
		}
		if result != nil {
			if err := json.Unmarshal(m.Result, result); err != nil {
				return fmt.Errorf("the answer to %s: %w", method, err)
			}
		}
		return nil
	case <-b.read:
		return fmt.Errorf("%s: the connection ended before the answer", method)
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// readLoop hands answers to their callers and events to OnEvent until
// the connection ends.
func (b *Browser) readLoop() {
	defer close(b.read)
	for {
		_, data, err := b.conn.ReadMessage()
		if err != nil {
			b.mu.Lock()
			b.readErr = err
			b.mu.Unlock()
			return
		}
		var m message
		if err := json.Unmarshal(data, &m); err != nil {
			continue
		}
		if m.Type == "event" {
			if b.onEvent != nil {
				b.onEvent(m.Method, m.Params)
			}
			continue
		}
		if m.ID == nil {
			continue
		}
		b.mu.Lock()
		ch := b.waiting[*m.ID]
		b.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
}

// Close ends the session and the browser, and waits for both.
func (b *Browser) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Best effort: the browser is ended below whatever it answers.
	_ = b.Call(ctx, "session.end", nil, nil)
	err := b.conn.Close()
	<-b.read
	b.kill()
	return err
}

// kill ends the browser's process group and waits until it is reaped.
func (b *Browser) kill() {
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	<-b.exited
}

// lineWriter passes the browser's output on line by line and watches it
// for the BiDi server's address.
type lineWriter struct {
	mu    sync.Mutex
	log   func(string)
	buf   []byte
	found chan string
	seen  bool
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		if m := listening.FindStringSubmatch(line); m != nil && !w.seen {
			w.seen = true
			w.found <- m[1]
		}
		if w.log != nil {
			w.log(line)
		}
	}
}

var _ io.Writer = (*lineWriter)(nil)
