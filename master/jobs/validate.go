package jobs

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/headroom-dev/headroom/master/framework"
)

// FieldError and ValidationError are the apps framework's: both built-in
// frameworks answer bad input with the same body, {"message": ...,
// "details": [{"path", "errors"}]}, paths like "schedules[0].cron".
type (
	FieldError      = framework.FieldError
	ValidationError = framework.ValidationError
)

// Limits. An id stays well within api.ValidID's 200 characters once a
// run id and an attempt number are appended to make a task id.
const (
	maxIDLen          = 100
	maxScheduleIDLen  = 64
	maxDescription    = 1024
	maxCPUs           = 1024
	maxMemMiB         = 1 << 30 // 1 PiB; far beyond any host, far below int64 bytes
	maxRetries        = 100
	maxBackoffFactor  = 10
	maxDelaySeconds   = 86400
	maxTimeoutSeconds = 30 * 86400
	maxDeadline       = 30 * 86400
	maxSchedules      = 20
	maxCronLen        = 200
	maxFetch          = 100
)

var (
	// jobIDRE is Metronome's: dot-separated lower-case segments. It has no
	// slash and no "..", so an id is safe as a store key and a path.
	jobIDRE      = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)
	scheduleIDRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	runIDRE      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,63}$`)
	envKeyRE     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// ValidJobID reports whether id names a job; the HTTP layer checks path
// parameters with it before anything else.
func ValidJobID(id string) bool { return len(id) <= maxIDLen && jobIDRE.MatchString(id) }

// ValidScheduleID reports whether id names a schedule.
func ValidScheduleID(id string) bool {
	return len(id) <= maxScheduleIDLen && scheduleIDRE.MatchString(id)
}

// ValidRunID reports whether id can name a run.
func ValidRunID(id string) bool { return runIDRE.MatchString(id) }

// Validate checks the definition; the error is a *ValidationError listing
// every bad field by its path.
func (j Job) Validate() error {
	v := &framework.Validator{}
	switch {
	case j.ID == "":
		v.Add("id", "must not be empty")
	case !ValidJobID(j.ID):
		v.Add("id", "must be at most %d characters: dot-separated segments of lower-case letters, digits and inner dashes, got %q", maxIDLen, j.ID)
	}
	if len(j.Description) > maxDescription {
		v.Add("description", "must be at most %d characters", maxDescription)
	}
	for _, k := range sortedKeys(j.Labels) {
		if k == "" {
			v.Add("labels", "label keys must not be empty")
		}
	}
	j.Run.validate(v, "run")
	if len(j.Schedules) > maxSchedules {
		v.Add("schedules", "at most %d schedules, got %d", maxSchedules, len(j.Schedules))
	}
	seen := map[string]bool{}
	for i, s := range j.Schedules {
		p := fmt.Sprintf("schedules[%d]", i)
		s.validate(v, p)
		if seen[s.ID] {
			v.Add(p+".id", "duplicate schedule id %q", s.ID)
		}
		seen[s.ID] = true
	}
	return v.Err("invalid job")
}

// Validate checks one schedule on its own (the /schedules endpoints).
func (s Schedule) Validate() error {
	v := &framework.Validator{}
	s.validate(v, "")
	return v.Err("invalid schedule")
}

func join(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + "." + field
}

func (r RunSpec) validate(v *framework.Validator, p string) {
	if (r.Cmd == "") == (len(r.Args) == 0) {
		v.Add(join(p, "cmd"), "exactly one of cmd and args must be set")
	}
	if !(r.CPUs > 0) || r.CPUs > maxCPUs {
		v.Add(join(p, "cpus"), "must be > 0 and <= %d, got %v", maxCPUs, r.CPUs)
	}
	if !(r.Mem > 0) || r.Mem > maxMemMiB {
		v.Add(join(p, "mem"), "must be > 0 and <= %d MiB, got %v", maxMemMiB, r.Mem)
	}
	if !(r.Disk >= 0) || r.Disk > maxMemMiB {
		v.Add(join(p, "disk"), "must be >= 0 and <= %d MiB, got %v", maxMemMiB, r.Disk)
	}
	for _, k := range sortedKeys(r.Env) {
		if !envKeyRE.MatchString(k) {
			v.Add(join(p, "env."+k), "not a valid environment variable name")
		}
	}
	if len(r.Fetch) > maxFetch {
		v.Add(join(p, "fetch"), "at most %d entries, got %d", maxFetch, len(r.Fetch))
	}
	for i, f := range r.Fetch {
		framework.ValidateFetch(v, func(field string) string { return join(p, fmt.Sprintf("fetch[%d].%s", i, field)) }, f)
	}
	for i, c := range r.Constraints {
		if _, err := framework.ParseConstraints([][]string{c}); err != nil {
			// ParseConstraints names index 0 of the one-element list.
			msg := strings.TrimPrefix(err.Error(), "constraint 0: ")
			v.Add(join(p, fmt.Sprintf("constraints[%d]", i)), "%s", msg)
		}
	}
	if r.MaxRetries < 0 || r.MaxRetries > maxRetries {
		v.Add(join(p, "maxRetries"), "must be between 0 and %d, got %d", maxRetries, r.MaxRetries)
	}
	checkRange(v, join(p, "backoffSeconds"), r.BackoffSeconds, 0, maxDelaySeconds)
	checkRange(v, join(p, "backoffFactor"), r.BackoffFactor, 1, maxBackoffFactor)
	checkRange(v, join(p, "maxBackoffSeconds"), r.MaxBackoffSeconds, 0, maxDelaySeconds)
	checkRange(v, join(p, "timeoutSeconds"), r.TimeoutSeconds, 0, maxTimeoutSeconds)
}

func checkRange(v *framework.Validator, path string, x, lo, hi float64) {
	if !(x >= lo) || x > hi || math.IsInf(x, 0) {
		v.Add(path, "must be between %v and %v, got %v", lo, hi, x)
	}
}

func (s Schedule) validate(v *framework.Validator, p string) {
	switch {
	case s.ID == "":
		v.Add(join(p, "id"), "must not be empty")
	case s.ID == ManualSchedule:
		v.Add(join(p, "id"), "%q is reserved for runs started by hand", ManualSchedule)
	case !ValidScheduleID(s.ID):
		v.Add(join(p, "id"), "must be at most %d characters matching %s, got %q", maxScheduleIDLen, scheduleIDRE, s.ID)
	}
	if _, err := parseCron(s.Cron, s.Timezone); err != nil {
		var ce *cronError
		if errors.As(err, &ce) {
			v.Add(join(p, ce.field), "%s", ce.msg)
		} else {
			v.Add(join(p, "cron"), "%v", err)
		}
	}
	switch s.ConcurrencyPolicy {
	case Allow, Forbid, Replace:
	default:
		v.Add(join(p, "concurrencyPolicy"), "must be ALLOW, FORBID or REPLACE, got %q", s.ConcurrencyPolicy)
	}
	if s.StartingDeadlineSeconds < 1 || s.StartingDeadlineSeconds > maxDeadline {
		v.Add(join(p, "startingDeadlineSeconds"), "must be between 1 and %d, got %d", maxDeadline, s.StartingDeadlineSeconds)
	}
}
