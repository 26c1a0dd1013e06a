package httpserver

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// Limits bound every request a server accepts.
type Limits struct {
	// ReadHeaderTimeout bounds reading the request line and headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading the body, from the end of the headers to
	// its last byte. Once the body is read the deadline is lifted, so a
	// long response is not cut by it.
	ReadTimeout time.Duration
	// WriteTimeout bounds the response, from the end of the headers. A
	// long-lived response (an event stream) lifts it with LiftWriteDeadline.
	WriteTimeout time.Duration
	// IdleTimeout bounds a keep-alive connection between requests.
	IdleTimeout time.Duration
	// MaxBodyBytes caps every request body; larger ones get 413.
	MaxBodyBytes int64
}

// DefaultLimits are the limits of a server whose Config leaves them zero.
// The body read bound is generous for a registration of thousands of tasks
// on a slow link and still short enough that slow uploads are dropped long
// before they pile up.
var DefaultLimits = Limits{
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       30 * time.Second,
	WriteTimeout:      time.Minute,
	IdleTimeout:       2 * time.Minute,
	MaxBodyBytes:      1 << 20,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = d.ReadHeaderTimeout
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = d.ReadTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = d.WriteTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = d.MaxBodyBytes
	}
	return l
}

// Guard applies l to every request to next: a declared body over
// MaxBodyBytes is refused at once with 413; any other body is read through
// http.MaxBytesReader under a ReadTimeout deadline (lifted once the body
// is read); the response gets a WriteTimeout deadline. Serve wraps every
// handler in it; tests wrap handlers in it to see what a client sees.
func Guard(next http.Handler, l Limits) http.Handler {
	l = l.withDefaults()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > l.MaxBodyBytes {
			// Not worth draining: the connection goes.
			w.Header().Set("Connection", "close")
			WriteTooLarge(w, l.MaxBodyBytes)
			return
		}
		rc := http.NewResponseController(w)
		// Deadlines fail only on writers that cannot have them
		// (httptest.ResponseRecorder); there is nothing to bound then.
		if r.Body != nil && r.Body != http.NoBody {
			_ = rc.SetReadDeadline(time.Now().Add(l.ReadTimeout))
			r.Body = &deadlineBody{body: http.MaxBytesReader(w, r.Body, l.MaxBodyBytes), rc: rc}
		}
		_ = rc.SetWriteDeadline(time.Now().Add(l.WriteTimeout))
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the read deadline when the body has been read: after
// that the server's background read only watches for the client going
// away, and a deadline there would cancel the request's context.
type deadlineBody struct {
	body io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if errors.Is(err, io.EOF) && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

func (b *deadlineBody) Close() error { return b.body.Close() }

// LiftWriteDeadline removes the write deadline of a long-lived response
// (the scheduler's event stream); it must be called before the first
// write that may block. ExtendWriteDeadline sets it d from now, for a
// handler that legitimately takes longer than WriteTimeout (a health
// check with its own timeout).
func LiftWriteDeadline(w http.ResponseWriter) error {
	return http.NewResponseController(w).SetWriteDeadline(time.Time{})
}

// ExtendWriteDeadline: see LiftWriteDeadline.
func ExtendWriteDeadline(w http.ResponseWriter, d time.Duration) error {
	return http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
}

// WriteTooLarge answers 413 naming the limit.
func WriteTooLarge(w http.ResponseWriter, limit int64) {
	WriteError(w, http.StatusRequestEntityTooLarge,
		fmt.Sprintf("request body larger than the limit of %d bytes", limit),
		map[string]int64{"limit_bytes": limit})
}

// BodyError answers a failure to read or decode a request body: 413 when
// it is over a limit (MaxBodyBytes or the handler's own), 408 when it did
// not arrive within ReadTimeout, 400 (malformed) otherwise. msg says what
// the body was meant to be ("invalid heartbeat").
func BodyError(w http.ResponseWriter, msg string, err error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		WriteTooLarge(w, mbe.Limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		w.Header().Set("Connection", "close")
		WriteError(w, http.StatusRequestTimeout, msg, "the body did not arrive within the server's read timeout")
	default:
		WriteError(w, http.StatusBadRequest, msg, err.Error())
	}
}
