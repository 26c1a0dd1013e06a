package master

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/internal/httpserver"
	"github.com/headroom-dev/headroom/master/core"
)

// serveScheduler is POST /api/v1/scheduler: SUBSCRIBE opens a stream,
// every other call is answered 202 and acts through events.
func (m *Master) serveScheduler(w http.ResponseWriter, r *http.Request) {
	var call scheduler.Call
	if err := api.DecodeStrict(r.Body, &call, maxBody); err != nil {
		httpserver.BodyError(w, "invalid call", err)
		return
	}
	if err := call.Validate(); err != nil {
		httpserver.WriteError(w, http.StatusBadRequest, "invalid call", err.Error())
		return
	}
	if call.Type == scheduler.CallSubscribe {
		m.serveSubscribe(w, r, call)
		return
	}
	streamID := r.Header.Get(scheduler.StreamIDHeader)
	if streamID == "" {
		streamID = r.Header.Get(scheduler.MesosStreamIDHeader)
	}
	if streamID == "" {
		httpserver.WriteError(w, http.StatusBadRequest, "invalid call",
			fmt.Sprintf("header %s: required on every call but SUBSCRIBE; it is the one the SUBSCRIBE answer carried", scheduler.StreamIDHeader))
		return
	}
	err := m.schedulerCall(streamID, call)
	switch {
	case err == nil:
		w.WriteHeader(http.StatusAccepted)
	case errors.Is(err, errWrongStream), errors.Is(err, errNotSubscribed), errors.Is(err, errFrameworkRemoved):
		httpserver.WriteError(w, http.StatusForbidden, string(call.Type)+" refused", err.Error())
	default:
		var ie *inputError
		if errors.As(err, &ie) {
			httpserver.WriteError(w, http.StatusBadRequest, string(call.Type)+" refused", err.Error())
			return
		}
		writeErr(w, string(call.Type)+" refused", err)
	}
}

// serveSubscribe holds the subscription's connection open and writes its
// events until the framework goes, the master ends the stream, or this
// master stops leading.
func (m *Master) serveSubscribe(w http.ResponseWriter, r *http.Request, call scheduler.Call) {
	if call.FrameworkID != nil && call.Subscribe.FrameworkInfo.ID != nil && call.FrameworkID.Value != call.Subscribe.FrameworkInfo.ID.Value {
		httpserver.WriteError(w, http.StatusBadRequest, "invalid call",
			fmt.Sprintf("framework_id %q differs from subscribe.framework_info.id %q", call.FrameworkID.Value, call.Subscribe.FrameworkInfo.ID.Value))
		return
	}
	sub, err := m.subscribe(r.Context(), call.Subscribe.FrameworkInfo)
	if err != nil {
		var ie *inputError
		switch {
		case errors.As(err, &ie):
			httpserver.WriteError(w, http.StatusBadRequest, "subscription refused", err.Error())
		case errors.Is(err, errFrameworkRemoved):
			httpserver.WriteError(w, http.StatusForbidden, "subscription refused", err.Error())
		default:
			writeErr(w, "subscription refused", err)
		}
		return
	}
	defer m.streamEnded(sub.frameworkID, sub.stream.id)
	rc := http.NewResponseController(w)
	// The stream lives as long as the subscription: the server's write
	// bound does not apply to it (its body was read under the read bound).
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set(scheduler.StreamIDHeader, sub.stream.id)
	w.Header().Set(scheduler.MesosStreamIDHeader, sub.stream.id)
	w.WriteHeader(http.StatusOK)
	heartbeat := m.cfg.Clock.NewTicker(sub.heartbeat)
	defer heartbeat.Stop()
	hb := []byte(`{"type":"HEARTBEAT"}` + "\n")
	// writeQueued writes what else is queued, so that a burst of events
	// goes out with one flush.
	writeQueued := func() bool {
		for {
			select {
			case b := <-sub.stream.events:
				if _, err := w.Write(b); err != nil {
					return false
				}
			default:
				return true
			}
		}
	}
	write := func(b []byte) bool {
		if _, err := w.Write(b); err != nil {
			return false
		}
		return writeQueued() && rc.Flush() == nil
	}
	if rc.Flush() != nil {
		return
	}
	for {
		select {
		case b := <-sub.stream.events:
			if !write(b) {
				return
			}
		case <-heartbeat.Chan():
			if !write(hb) {
				return
			}
		case <-sub.stream.done:
			// Whatever was queued before the end goes out first.
			if !writeQueued() {
				return
			}
			if sub.stream.errMsg != "" {
				_, _ = fmt.Fprintf(w, `{"type":"ERROR","error":{"message":%q}}`+"\n", sub.stream.errMsg)
			}
			_ = rc.Flush()
			return
		case <-r.Context().Done():
			return
		case <-sub.leaderCtx.Done():
			return
		}
	}
}

// schedulerCall applies one call of a subscribed framework
// (core.SchedulerCall).
func (m *Master) schedulerCall(streamID string, c scheduler.Call) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return errNotLeading
	}
	err := m.step(core.SchedulerCall{StreamID: streamID, Call: c}).Err
	if ie := (*core.InputError)(nil); errors.As(err, &ie) {
		return &inputError{err: ie.Err}
	}
	return err
}
