package httpapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/internal/httpserver"
)

// serveScheduler is POST /api/v1/scheduler: SUBSCRIBE opens a stream,
// every other call is answered 202 and acts through events.
func (s *server) serveScheduler(w http.ResponseWriter, r *http.Request) {
	if err := scheduler.CheckContentType(r.Header.Get("Content-Type")); err != nil {
		httpserver.WriteError(w, http.StatusUnsupportedMediaType, "invalid call", err.Error())
		return
	}
	// Read as Mesos reads calls: what headroom does not know, and nulls,
	// are left out and logged, never refused.
	var ignored []string
	call, err := scheduler.DecodeCall(r.Body, maxBody, func(i api.Ignored) { ignored = append(ignored, i.String()) })
	if err != nil {
		httpserver.BodyError(w, "invalid call", err)
		return
	}
	if len(ignored) > 0 {
		s.cfg.Logger.Info("scheduler call: fields ignored", "type", call.Type, "fields", ignored)
	}
	if err := call.Validate(); err != nil {
		httpserver.WriteError(w, http.StatusBadRequest, "invalid call", err.Error())
		return
	}
	if call.Type == scheduler.CallSubscribe {
		s.serveSubscribe(w, r, call)
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
	err = s.b.SchedulerCall(streamID, call)
	if err == nil {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	// A call on a stream that is not the framework's current one, or of
	// a framework not subscribed, is refused; bad content is the
	// scheduler API's 400, as Mesos answers it.
	switch s.b.ErrorKind(err) {
	case Refused:
		httpserver.WriteError(w, http.StatusForbidden, string(call.Type)+" refused", err.Error())
	case Invalid:
		httpserver.WriteError(w, http.StatusBadRequest, string(call.Type)+" refused", err.Error())
	default:
		s.writeErr(w, string(call.Type)+" refused", err)
	}
}

// serveSubscribe holds the subscription's connection open and writes its
// events until the framework goes, the master ends the stream, or this
// master stops leading.
func (s *server) serveSubscribe(w http.ResponseWriter, r *http.Request, call scheduler.Call) {
	if call.FrameworkID != nil && call.Subscribe.FrameworkInfo.ID != nil && call.FrameworkID.Value != call.Subscribe.FrameworkInfo.ID.Value {
		httpserver.WriteError(w, http.StatusBadRequest, "invalid call",
			fmt.Sprintf("framework_id %q differs from subscribe.framework_info.id %q", call.FrameworkID.Value, call.Subscribe.FrameworkInfo.ID.Value))
		return
	}
	stream, err := scheduler.NegotiateStream(r.Header.Get("Accept"), r.Header.Get(scheduler.MessageAcceptHeader))
	if err != nil {
		httpserver.WriteError(w, http.StatusNotAcceptable, "subscription refused", err.Error())
		return
	}
	sub, err := s.b.Subscribe(r.Context(), call.Subscribe.FrameworkInfo)
	if err != nil {
		switch s.b.ErrorKind(err) {
		case Invalid:
			httpserver.WriteError(w, http.StatusBadRequest, "subscription refused", err.Error())
		case Refused:
			httpserver.WriteError(w, http.StatusForbidden, "subscription refused", err.Error())
		default:
			s.writeErr(w, "subscription refused", err)
		}
		return
	}
	defer s.b.StreamEnded(sub.FrameworkID, sub.ID)
	if roles := call.Subscribe.SuppressedRoles; len(roles) > 0 {
		// Subscribed with offers suppressed: as a SUPPRESS on the new
		// stream, before any offer goes out.
		if err := s.b.SchedulerCall(sub.ID, scheduler.Call{Type: scheduler.CallSuppress,
			FrameworkID: scheduler.NewID(sub.FrameworkID), Suppress: &scheduler.Roles{Roles: roles}}); err != nil {
			s.cfg.Logger.Info("subscribe: suppressed_roles not applied", "framework", sub.FrameworkID, "err", err)
		}
	}
	rc := http.NewResponseController(w)
	// The stream lives as long as the subscription: the server's write
	// bound does not apply to it (its body was read under the read bound).
	_ = rc.SetWriteDeadline(time.Time{})
	// RecordIO as Mesos frames it, unless the client asked for lines.
	stream.SetHeaders(w.Header())
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set(scheduler.StreamIDHeader, sub.ID)
	w.Header().Set(scheduler.MesosStreamIDHeader, sub.ID)
	w.WriteHeader(http.StatusOK)
	heartbeat := s.cfg.Clock.NewTicker(sub.Heartbeat)
	defer heartbeat.Stop()
	hb := stream.Frame([]byte(`{"type":"HEARTBEAT"}`))
	// writeQueued writes what else is queued, so that a burst of events
	// goes out with one flush.
	writeQueued := func() bool {
		for {
			select {
			case b := <-sub.Events:
				if _, err := w.Write(stream.Frame(b)); err != nil {
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
		case b := <-sub.Events:
			if !write(stream.Frame(b)) {
				return
			}
		case <-heartbeat.Chan():
			if !write(hb) {
				return
			}
		case <-sub.Done:
			// Whatever was queued before the end goes out first.
			if !writeQueued() {
				return
			}
			if msg := sub.Err(); msg != "" {
				_, _ = w.Write(stream.Frame([]byte(fmt.Sprintf(`{"type":"ERROR","error":{"message":%q}}`, msg))))
			}
			_ = rc.Flush()
			return
		case <-r.Context().Done():
			return
		case <-sub.Term:
			return
		}
	}
}
