package agent

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/headroom-dev/headroom/agent/executor"
	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/httpserver"
)

// maxBody caps request bodies: a task description or an override is a few
// kilobytes; anything near this is a mistake or an attack.
const maxBody = 1 << 20

// Handler serves the agent's local API:
//
//	GET    /api/v1/state             estimate, override, applied reservation, tasks
//	PUT    /api/v1/reservation       online override {"mode":"cap"|"fixed","cpus":N,"mem_bytes":N}
//	DELETE /api/v1/reservation       back to the estimate
//	PUT    /api/v1/attributes        replace the dynamic attributes
//	GET    /api/v1/tasks             tasks
//	POST   /api/v1/tasks             launch a task (used by the master)
//	POST   /api/v1/tasks/{id}/kill   kill a task (used by the master)
//	POST   /api/v1/tasks/{id}/check  run a COMMAND health check in a running task (used by the master)
//	GET    /api/v1/tasks/{id}/files  a task's sandbox files (files.go)
//
// The landing page, /api/v1/estimate and /healthz come from the monitor
// (Routes serves them all).
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	a.register(mux)
	return mux
}

// Routes is the agent's whole server: its API, the monitor's routes and,
// when metrics is not nil, GET /metrics, on one mux. Every route names its
// method, so any other method gets 405 with Allow.
func (a *Agent) Routes(metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	a.Monitor().Register(mux, "agent")
	a.register(mux)
	return mux
}

func (a *Agent) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/state", func(w http.ResponseWriter, _ *http.Request) {
		httpserver.WriteJSON(w, http.StatusOK, a.State())
	})
	mux.HandleFunc("PUT /api/v1/reservation", func(w http.ResponseWriter, r *http.Request) {
		var o Override
		if err := api.DecodeStrict(r.Body, &o, maxBody); err != nil {
			httpserver.BodyError(w, "invalid reservation override", err)
			return
		}
		if err := o.ValidateFor(a.cfg.HostMemBytes); err != nil {
			httpserver.WriteError(w, http.StatusUnprocessableEntity, "invalid reservation override", err.Error())
			return
		}
		if err := a.SetOverride(&o); err != nil {
			httpserver.WriteError(w, http.StatusInternalServerError, "applying the override", err.Error())
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, a.reservationView())
	})
	mux.HandleFunc("DELETE /api/v1/reservation", func(w http.ResponseWriter, _ *http.Request) {
		if err := a.SetOverride(nil); err != nil {
			httpserver.WriteError(w, http.StatusInternalServerError, "removing the override", err.Error())
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, a.reservationView())
	})
	mux.HandleFunc("PUT /api/v1/attributes", func(w http.ResponseWriter, r *http.Request) {
		attrs, err := api.DecodeAttributes(r.Body, maxBody)
		if err != nil {
			httpserver.BodyError(w, "invalid attributes", err)
			return
		}
		if err := a.SetAttributes(attrs); err != nil {
			httpserver.WriteError(w, http.StatusUnprocessableEntity, "invalid attributes", err.Error())
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, a.attributes())
	})
	mux.HandleFunc("GET /api/v1/tasks", func(w http.ResponseWriter, _ *http.Request) {
		httpserver.WriteJSON(w, http.StatusOK, a.exec.Tasks())
	})
	mux.HandleFunc("POST /api/v1/tasks", func(w http.ResponseWriter, r *http.Request) {
		var t api.TaskInfo
		if err := api.DecodeStrict(r.Body, &t, maxBody); err != nil {
			httpserver.BodyError(w, "invalid task", err)
			return
		}
		if err := t.Validate(); err != nil {
			httpserver.WriteError(w, http.StatusUnprocessableEntity, "invalid task", err.Error())
			return
		}
		if err := a.exec.Launch(t); err != nil {
			code := http.StatusUnprocessableEntity
			if errors.Is(err, executor.ErrExists) {
				code = http.StatusConflict
			}
			httpserver.WriteError(w, code, "launch refused", err.Error())
			return
		}
		httpserver.WriteJSON(w, http.StatusAccepted, map[string]string{"task_id": t.ID})
	})
	mux.HandleFunc("POST /api/v1/tasks/{id}/kill", func(w http.ResponseWriter, r *http.Request) {
		var k agentproto.KillRequest
		if r.ContentLength != 0 {
			if err := api.DecodeStrict(r.Body, &k, maxBody); err != nil {
				httpserver.BodyError(w, "invalid kill request", err)
				return
			}
		}
		reason := k.Reason
		if reason == "" {
			reason = api.ReasonKilledByRequest
		}
		id := r.PathValue("id")
		if err := a.exec.Kill(id, api.TaskKilled, reason, k.Message); err != nil {
			code := http.StatusConflict
			if errors.Is(err, executor.ErrUnknownTask) {
				code = http.StatusNotFound
			}
			httpserver.WriteError(w, code, "kill refused", err.Error())
			return
		}
		httpserver.WriteJSON(w, http.StatusAccepted, map[string]string{"task_id": id})
	})
	mux.HandleFunc("POST /api/v1/tasks/{id}/check", a.handleCheck)
	a.fileRoutes(mux)
}

// Limits of a check request.
const (
	// maxCheckBody caps a check request: a command of at most
	// maxCheckCommand bytes, escaped, fits many times over.
	maxCheckBody = 64 << 10
	// maxCheckCommand is Marathon-sized: a health check is a one-liner,
	// not a script.
	maxCheckCommand = 4 << 10
	// checkAnswerSlack is the write bound of a check's answer past its
	// timeout: the kill and the answer itself.
	checkAnswerSlack = 30 * time.Second
)

// validateCheck names the first thing wrong with a check request.
func validateCheck(c agentproto.CheckRequest) error {
	switch {
	case strings.TrimSpace(c.Command) == "":
		return errors.New("command is required")
	case len(c.Command) > maxCheckCommand:
		return fmt.Errorf("command is %d bytes, more than %d", len(c.Command), maxCheckCommand)
	case !(c.TimeoutSeconds > 0) || c.TimeoutSeconds > executor.MaxCheckTimeout.Seconds() || math.IsInf(c.TimeoutSeconds, 0):
		return fmt.Errorf("timeout_seconds must be > 0 and <= %g", executor.MaxCheckTimeout.Seconds())
	}
	return nil
}

// handleCheck runs a COMMAND health check in a running task. The check
// runs with the request's context, so a master that gives up (or stops)
// also stops the command. Only a check that ran answers 200; whether it
// passed is in the body, so the caller can tell an unhealthy task from a
// check that could not be made.
func (a *Agent) handleCheck(w http.ResponseWriter, r *http.Request) {
	var c agentproto.CheckRequest
	if err := api.DecodeStrict(r.Body, &c, maxCheckBody); err != nil {
		httpserver.BodyError(w, "invalid check request", err)
		return
	}
	if err := validateCheck(c); err != nil {
		httpserver.WriteError(w, http.StatusUnprocessableEntity, "invalid check request", err.Error())
		return
	}
	id := r.PathValue("id")
	timeout := time.Duration(c.TimeoutSeconds * float64(time.Second))
	// A check may take longer than the server's write bound; the answer
	// must still get out after it.
	_ = httpserver.ExtendWriteDeadline(w, timeout+checkAnswerSlack)
	code, out, err := a.exec.Check(r.Context(), id, c.Command, timeout)
	switch {
	case err == nil:
	case errors.Is(err, executor.ErrCheckTimeout):
		// Ran, and failed by taking too long: a result, not an error.
		out += fmt.Sprintf("\n[killed: no result within %v]", timeout)
	case errors.Is(err, executor.ErrUnknownTask):
		httpserver.WriteError(w, http.StatusNotFound, "check refused", err.Error())
		return
	case errors.Is(err, executor.ErrTaskNotRunning):
		httpserver.WriteError(w, http.StatusConflict, "check refused", err.Error())
		return
	default:
		httpserver.WriteError(w, http.StatusInternalServerError, "check failed to run", err.Error())
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, agentproto.CheckResult{Healthy: code == 0, ExitCode: code, Output: out})
}

// reservationView is the answer of the reservation endpoints.
type reservationView struct {
	Estimate agentproto.Estimate `json:"estimate"`
	Override *Override           `json:"override"`
	Applied  Applied             `json:"applied"`
}

func (a *Agent) reservationView() reservationView {
	a.mu.Lock()
	defer a.mu.Unlock()
	v := reservationView{Estimate: toAPIEstimate(a.estimate), Applied: a.applied}
	if a.override != nil {
		o := *a.override
		v.Override = &o
	}
	return v
}
