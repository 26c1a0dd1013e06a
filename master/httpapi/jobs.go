package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/headroom-dev/headroom/internal/httpserver"
	"github.com/headroom-dev/headroom/master/jobs"
)

// jobView is a job as /v1/jobs shows it: the definition plus its counts.
type jobView struct {
	jobs.Job
	ActiveRuns int                  `json:"activeRuns"`
	Summary    jobs.Summary         `json:"summary"`
	NextRuns   map[string]time.Time `json:"nextRuns"`
}

func toJobView(st jobs.JobStatus) jobView {
	return jobView{Job: st.Job, ActiveRuns: st.ActiveRuns, Summary: st.Summary, NextRuns: st.NextRuns}
}

// scheduleView is a schedule with its next time.
type scheduleView struct {
	jobs.Schedule
	NextRunAt time.Time `json:"nextRunAt,omitzero"`
}

func toScheduleViews(st jobs.JobStatus) []scheduleView {
	out := make([]scheduleView, 0, len(st.Job.Schedules))
	for _, sc := range st.Job.Schedules {
		out = append(out, scheduleView{Schedule: sc, NextRunAt: st.NextRuns[sc.ID]})
	}
	return out
}

// runsView is GET /v1/jobs/{id}/runs: the active runs, oldest first, and
// the finished ones, newest first.
type runsView struct {
	Active  []jobs.Run `json:"active"`
	History []jobs.Run `json:"history"`
}

// jobRoutes serves the Metronome-style periodic jobs API.
//
//	POST   /v1/jobs                                     create (201)
//	GET    /v1/jobs                                     list
//	GET    /v1/jobs/{id}                                one job
//	PUT    /v1/jobs/{id}                                replace (without "schedules": keep them)
//	DELETE /v1/jobs/{id}                                delete, killing its runs
//	GET    /v1/jobs/{id}/schedules                      list
//	POST   /v1/jobs/{id}/schedules                      add (201)
//	GET    /v1/jobs/{id}/schedules/{sid}                one schedule
//	PUT    /v1/jobs/{id}/schedules/{sid}                replace
//	DELETE /v1/jobs/{id}/schedules/{sid}                remove
//	POST   /v1/jobs/{id}/runs                           start a run now (201)
//	GET    /v1/jobs/{id}/runs                           active runs and history
//	GET    /v1/jobs/{id}/runs/{runId}                   one run
//	POST   /v1/jobs/{id}/runs/{runId}/actions/stop      stop a run
func (s *server) jobRoutes(mux *routeMux) {
	mux.HandleFunc("POST /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		job, err := jobs.DecodeJob(r.Body)
		if err != nil {
			writeDecodeErr(w, err)
			return
		}
		st, err := s.b.CreateJob(r.Context(), job)
		if err != nil {
			s.writeJobErr(w, "job not created", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusCreated, toJobView(st))
	})
	mux.HandleFunc("GET /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		list, err := s.b.JobStatuses()
		if err != nil {
			s.writeJobErr(w, "listing jobs", err)
			return
		}
		views := make([]jobView, 0, len(list))
		for _, st := range list {
			views = append(views, jobViewFor(r, toJobView(st)))
		}
		httpserver.WriteJSON(w, http.StatusOK, views)
	})
	mux.HandleFunc("GET /v1/jobs/{id}", s.withJob(func(w http.ResponseWriter, r *http.Request, id string) {
		st, err := s.b.JobStatus(id)
		if err != nil {
			s.writeJobErr(w, "job", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, jobViewFor(r, toJobView(st)))
	}))
	mux.HandleFunc("PUT /v1/jobs/{id}", s.withJob(func(w http.ResponseWriter, r *http.Request, id string) {
		job, err := jobs.DecodeJob(r.Body)
		if err != nil {
			writeDecodeErr(w, err)
			return
		}
		if job.ID == "" {
			job.ID = id
		}
		if job.ID != id {
			s.writeJobErr(w, "job not updated", mismatch("id", job.ID, id))
			return
		}
		st, err := s.b.UpdateJob(r.Context(), job)
		if err != nil {
			s.writeJobErr(w, "job not updated", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, toJobView(st))
	}))
	mux.HandleFunc("DELETE /v1/jobs/{id}", s.withJob(func(w http.ResponseWriter, r *http.Request, id string) {
		if err := s.b.DeleteJob(r.Context(), id); err != nil {
			s.writeJobErr(w, "job not deleted", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, map[string]string{"id": id})
	}))

	mux.HandleFunc("GET /v1/jobs/{id}/schedules", s.withJob(func(w http.ResponseWriter, r *http.Request, id string) {
		st, err := s.b.JobStatus(id)
		if err != nil {
			s.writeJobErr(w, "schedules", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, toScheduleViews(st))
	}))
	mux.HandleFunc("POST /v1/jobs/{id}/schedules", s.withJob(func(w http.ResponseWriter, r *http.Request, id string) {
		sc, ok := s.decodeSchedule(w, r, "")
		if !ok {
			return
		}
		st, err := s.b.ModifyJob(r.Context(), id, func(j *jobs.Job) error {
			if _, exists := j.Schedule(sc.ID); exists {
				return fmt.Errorf("schedule %q of job %q: %w", sc.ID, id, jobs.ErrScheduleExists)
			}
			j.Schedules = append(j.Schedules, sc)
			return nil
		})
		if err != nil {
			s.writeJobErr(w, "schedule not added", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusCreated, scheduleOf(st, sc.ID))
	}))
	mux.HandleFunc("GET /v1/jobs/{id}/schedules/{sid}", s.withSchedule(func(w http.ResponseWriter, r *http.Request, id, sid string) {
		st, err := s.b.JobStatus(id)
		if err != nil {
			s.writeJobErr(w, "schedule", err)
			return
		}
		if _, ok := st.Job.Schedule(sid); !ok {
			s.writeJobErr(w, "schedule", fmt.Errorf("schedule %q of job %q: %w", sid, id, jobs.ErrScheduleNotFound))
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, scheduleOf(st, sid))
	}))
	mux.HandleFunc("PUT /v1/jobs/{id}/schedules/{sid}", s.withSchedule(func(w http.ResponseWriter, r *http.Request, id, sid string) {
		sc, ok := s.decodeSchedule(w, r, sid)
		if !ok {
			return
		}
		st, err := s.b.ModifyJob(r.Context(), id, func(j *jobs.Job) error {
			for i := range j.Schedules {
				if j.Schedules[i].ID == sid {
					j.Schedules[i] = sc
					return nil
				}
			}
			return fmt.Errorf("schedule %q of job %q: %w", sid, id, jobs.ErrScheduleNotFound)
		})
		if err != nil {
			s.writeJobErr(w, "schedule not updated", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, scheduleOf(st, sid))
	}))
	mux.HandleFunc("DELETE /v1/jobs/{id}/schedules/{sid}", s.withSchedule(func(w http.ResponseWriter, r *http.Request, id, sid string) {
		_, err := s.b.ModifyJob(r.Context(), id, func(j *jobs.Job) error {
			for i := range j.Schedules {
				if j.Schedules[i].ID == sid {
					j.Schedules = append(j.Schedules[:i], j.Schedules[i+1:]...)
					return nil
				}
			}
			return fmt.Errorf("schedule %q of job %q: %w", sid, id, jobs.ErrScheduleNotFound)
		})
		if err != nil {
			s.writeJobErr(w, "schedule not removed", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, map[string]string{"id": sid})
	}))

	mux.HandleFunc("POST /v1/jobs/{id}/runs", s.withJob(func(w http.ResponseWriter, r *http.Request, id string) {
		run, err := s.b.StartJobRun(id)
		if err != nil {
			s.writeJobErr(w, "run not started", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusCreated, run)
	}))
	mux.HandleFunc("GET /v1/jobs/{id}/runs", s.withJob(func(w http.ResponseWriter, r *http.Request, id string) {
		active, history, err := s.b.JobRuns(id)
		if err != nil {
			s.writeJobErr(w, "runs", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, runsView{Active: active, History: history})
	}))
	mux.HandleFunc("GET /v1/jobs/{id}/runs/{runId}", s.withRun(func(w http.ResponseWriter, r *http.Request, id, runID string) {
		run, err := s.b.JobRun(id, runID)
		if err != nil {
			s.writeJobErr(w, "run", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, run)
	}))
	mux.HandleFunc("POST /v1/jobs/{id}/runs/{runId}/actions/stop", s.withRun(func(w http.ResponseWriter, r *http.Request, id, runID string) {
		run, err := s.b.StopJobRun(id, runID)
		if err != nil {
			s.writeJobErr(w, "run not stopped", err)
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, run)
	}))
}

// withJob checks the job id of the path before the handler sees it: a
// malformed id (a traversal, an upper-case letter) is a 400 naming the
// field, never a lookup.
func (s *server) withJob(h func(w http.ResponseWriter, r *http.Request, id string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !jobs.ValidJobID(id) {
			s.writeJobErr(w, "invalid job id", fieldError("id", fmt.Sprintf("%q is not a job id: dot-separated segments of lower-case letters, digits and inner dashes", id)))
			return
		}
		h(w, r, id)
	}
}

func (s *server) withSchedule(h func(w http.ResponseWriter, r *http.Request, id, sid string)) http.HandlerFunc {
	return s.withJob(func(w http.ResponseWriter, r *http.Request, id string) {
		sid := r.PathValue("sid")
		if !jobs.ValidScheduleID(sid) {
			s.writeJobErr(w, "invalid schedule id", fieldError("scheduleId", fmt.Sprintf("%q is not a schedule id", sid)))
			return
		}
		h(w, r, id, sid)
	})
}

func (s *server) withRun(h func(w http.ResponseWriter, r *http.Request, id, runID string)) http.HandlerFunc {
	return s.withJob(func(w http.ResponseWriter, r *http.Request, id string) {
		runID := r.PathValue("runId")
		if !jobs.ValidRunID(runID) {
			s.writeJobErr(w, "invalid run id", fieldError("runId", fmt.Sprintf("%q is not a run id", runID)))
			return
		}
		h(w, r, id, runID)
	})
}

// decodeSchedule reads and validates one schedule; the path's id fills an
// absent one and must match a present one.
func (s *server) decodeSchedule(w http.ResponseWriter, r *http.Request, pathID string) (jobs.Schedule, bool) {
	defaultID := pathID
	if defaultID == "" {
		defaultID = jobs.DefaultScheduleID
	}
	sc, err := jobs.DecodeSchedule(r.Body, defaultID)
	if err != nil {
		httpserver.BodyError(w, "invalid schedule", err)
		return jobs.Schedule{}, false
	}
	if pathID != "" && sc.ID != pathID {
		s.writeJobErr(w, "invalid schedule", mismatch("id", sc.ID, pathID))
		return jobs.Schedule{}, false
	}
	if err := sc.Validate(); err != nil {
		s.writeJobErr(w, "invalid schedule", err)
		return jobs.Schedule{}, false
	}
	return sc, true
}

func scheduleOf(st jobs.JobStatus, sid string) scheduleView {
	for _, v := range toScheduleViews(st) {
		if v.ID == sid {
			return v
		}
	}
	return scheduleView{}
}

func fieldError(path, msg string) error {
	return &jobs.ValidationError{Message: "invalid request", Details: []jobs.FieldError{{Path: path, Errors: []string{msg}}}}
}

func mismatch(field, body, path string) error {
	return fieldError(field, fmt.Sprintf("%q in the body differs from %q in the path", body, path))
}

// writeDecodeErr answers a job definition that does not decode: every
// bad field as a validation error, or the body's syntax error.
func writeDecodeErr(w http.ResponseWriter, err error) {
	var ve *jobs.ValidationError
	if errors.As(err, &ve) {
		httpserver.WriteJSON(w, http.StatusBadRequest, ve)
		return
	}
	httpserver.BodyError(w, "invalid job definition", err)
}

// writeJobErr maps the jobs errors onto status codes: invalid input 400
// with the fields at fault, unknown 404, duplicate 409; the rest as every
// other handler does.
func (s *server) writeJobErr(w http.ResponseWriter, msg string, err error) {
	var ve *jobs.ValidationError
	switch {
	case errors.As(err, &ve):
		httpserver.WriteJSON(w, http.StatusBadRequest, ve)
	case errors.Is(err, jobs.ErrNotFound), errors.Is(err, jobs.ErrScheduleNotFound), errors.Is(err, jobs.ErrRunNotFound):
		httpserver.WriteError(w, http.StatusNotFound, msg, err.Error())
	case errors.Is(err, jobs.ErrExists), errors.Is(err, jobs.ErrScheduleExists):
		httpserver.WriteError(w, http.StatusConflict, msg, err.Error())
	default:
		s.writeErr(w, msg, err)
	}
}
