package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/master/framework"
)

// MaxBodyBytes caps a job definition on the wire: a definition is a few
// kilobytes, anything near a megabyte is a mistake or an attack.
const MaxBodyBytes = 1 << 20

// Defaults of absent fields.
const (
	DefaultCPUs              = 1.0
	DefaultMem               = 128.0
	DefaultBackoffSeconds    = 10.0
	DefaultBackoffFactor     = 2.0
	DefaultMaxBackoffSeconds = 3600.0
	// DefaultStartingDeadlineSeconds is Metronome's: a run that cannot
	// start within 15 minutes of its scheduled time is not worth starting.
	DefaultStartingDeadlineSeconds = 900
	DefaultTimezone                = "UTC"
	DefaultScheduleID              = "default"
	// DefaultHistoryLimit is how many finished runs are kept per job.
	DefaultHistoryLimit = 20
)

// Concurrency policies: what a schedule does when its time comes while a
// run of the job is still active.
const (
	// Allow starts another run beside the active ones.
	Allow = "ALLOW"
	// Forbid skips the scheduled time (recorded as SKIPPED).
	Forbid = "FORBID"
	// Replace stops the active runs and starts the new one.
	Replace = "REPLACE"
)

// ManualSchedule is the schedule id of runs started by hand.
const ManualSchedule = "manual"

// Job is one periodic job: what to run, and when.
type Job struct {
	// ID is lower-case segments separated by dots ("backup.db-nightly"),
	// as in Metronome.
	ID          string            `json:"id"`
	Description string            `json:"description,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Run         RunSpec           `json:"run"`
	// Schedules may be empty: the job then only runs by hand.
	Schedules []Schedule `json:"schedules,omitempty"`
}

// RunSpec is what one run executes, and how failures are retried.
type RunSpec struct {
	Cmd  string   `json:"cmd,omitempty"`
	Args []string `json:"args,omitempty"`
	// CPUs in cores, Mem and Disk in MiB.
	CPUs  float64           `json:"cpus"`
	Mem   float64           `json:"mem"`
	Disk  float64           `json:"disk"`
	Env   map[string]string `json:"env,omitempty"`
	Fetch []framework.Fetch `json:"fetch,omitempty"`
	// Constraints are [field, OPERATOR, value?] triples, as for apps;
	// UNIQUE and MAX_PER count the job's other live runs.
	Constraints [][]string `json:"constraints,omitempty"`
	// Revocable runs use harvested capacity (the default: periodic batch
	// work is what headroom harvests for); false uses the dedicated pool.
	Revocable bool `json:"revocable"`
	// MaxRetries is how many times a failed run is tried again. The n-th
	// retry waits BackoffSeconds*BackoffFactor^(n-1), at most
	// MaxBackoffSeconds.
	MaxRetries        int     `json:"maxRetries"`
	BackoffSeconds    float64 `json:"backoffSeconds"`
	BackoffFactor     float64 `json:"backoffFactor"`
	MaxBackoffSeconds float64 `json:"maxBackoffSeconds"`
	// TimeoutSeconds, when positive, kills an attempt that runs longer;
	// the attempt counts as failed.
	TimeoutSeconds float64 `json:"timeoutSeconds,omitempty"`
}

// Schedule starts runs of its job at the times of a cron expression.
type Schedule struct {
	ID string `json:"id"`
	// Cron is a standard 5-field expression (minute hour day-of-month
	// month day-of-week) or a descriptor such as @daily, read in Timezone.
	Cron string `json:"cron"`
	// Timezone is an IANA name ("Europe/Paris"); default UTC.
	Timezone          string `json:"timezone"`
	ConcurrencyPolicy string `json:"concurrencyPolicy"`
	// StartingDeadlineSeconds: a scheduled time not started within this
	// long (the master was down, or no resources) is missed, not run late.
	StartingDeadlineSeconds int64 `json:"startingDeadlineSeconds"`
	Enabled                 bool  `json:"enabled"`
}

// NewJob returns a job with the defaults, for callers that build
// definitions in Go rather than decoding JSON.
func NewJob(id string) Job {
	return Job{ID: id, Run: NewRunSpec()}
}

// NewRunSpec returns a run spec with the defaults.
func NewRunSpec() RunSpec {
	return RunSpec{
		CPUs:              DefaultCPUs,
		Mem:               DefaultMem,
		Revocable:         true,
		BackoffSeconds:    DefaultBackoffSeconds,
		BackoffFactor:     DefaultBackoffFactor,
		MaxBackoffSeconds: DefaultMaxBackoffSeconds,
	}
}

// NewSchedule returns a schedule with the defaults.
func NewSchedule(id, expr string) Schedule {
	return Schedule{
		ID:                      id,
		Cron:                    expr,
		Timezone:                DefaultTimezone,
		ConcurrencyPolicy:       Allow,
		StartingDeadlineSeconds: DefaultStartingDeadlineSeconds,
		Enabled:                 true,
	}
}

// strictUnmarshal decodes data into v rejecting unknown fields. Custom
// UnmarshalJSON methods do not inherit the outer decoder's
// DisallowUnknownFields, so they must re-impose it. Errors name the field
// by its path under prefix ("run.cpus").
func strictUnmarshal(prefix string, data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return pathError(prefix, err)
	}
	return nil
}

// pathError rewrites a decoding error so that it names the full path of
// the field. Type errors are flattened into plain errors on purpose: a
// caller unwrapping to *json.UnmarshalTypeError would otherwise print the
// bare field name and lose the path.
func pathError(prefix string, err error) error {
	join := func(field string) string {
		switch {
		case prefix == "" && field == "":
			return "the body"
		case prefix == "":
			return field
		case field == "":
			return prefix
		}
		return prefix + "." + field
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s: %s", join(te.Field), api.TypeMismatch(te))
	}
	var pe *prefixedError
	if errors.As(err, &pe) {
		return err
	}
	if prefix == "" {
		return &prefixedError{err: err}
	}
	return &prefixedError{err: fmt.Errorf("%s: %w", prefix, err)}
}

// prefixedError marks an error that already names its path, so enclosing
// decoders do not prefix it again.
type prefixedError struct{ err error }

func (e *prefixedError) Error() string { return e.err.Error() }
func (e *prefixedError) Unwrap() error { return e.err }

// UnmarshalJSON fills defaults for absent fields (an explicit value, even
// 0 or "", stays) and decodes the run and each schedule separately, so an
// error names "schedules[1].cron" rather than a bare "cron".
func (j *Job) UnmarshalJSON(data []byte) error {
	var raw struct {
		ID          string            `json:"id"`
		Description string            `json:"description"`
		Labels      map[string]string `json:"labels"`
		Run         json.RawMessage   `json:"run"`
		Schedules   []json.RawMessage `json:"schedules"`
	}
	if err := strictUnmarshal("", data, &raw); err != nil {
		return err
	}
	out := Job{ID: raw.ID, Description: raw.Description, Labels: raw.Labels, Run: NewRunSpec()}
	if len(raw.Run) > 0 && string(raw.Run) != "null" {
		if err := strictUnmarshal("run", raw.Run, (*plainRunSpec)(&out.Run)); err != nil {
			return err
		}
	}
	if raw.Schedules != nil {
		out.Schedules = make([]Schedule, 0, len(raw.Schedules))
	}
	for i, r := range raw.Schedules {
		s, err := decodeSchedule(fmt.Sprintf("schedules[%d]", i), r)
		if err != nil {
			return err
		}
		out.Schedules = append(out.Schedules, s)
	}
	*j = out
	return nil
}

// plainRunSpec and plainSchedule decode without the custom methods.
type (
	plainRunSpec  RunSpec
	plainSchedule Schedule
)

// UnmarshalJSON fills the run spec's defaults for absent fields.
func (r *RunSpec) UnmarshalJSON(data []byte) error {
	p := plainRunSpec(NewRunSpec())
	if err := strictUnmarshal("", data, &p); err != nil {
		return err
	}
	*r = RunSpec(p)
	return nil
}

// UnmarshalJSON fills the schedule's defaults for absent fields.
func (s *Schedule) UnmarshalJSON(data []byte) error {
	out, err := decodeSchedule("", data)
	if err != nil {
		return err
	}
	*s = out
	return nil
}

func decodeSchedule(prefix string, data []byte) (Schedule, error) {
	p := plainSchedule(NewSchedule(DefaultScheduleID, ""))
	if err := strictUnmarshal(prefix, data, &p); err != nil {
		return Schedule{}, err
	}
	return Schedule(p), nil
}

// DecodeSchedule reads one schedule (strict JSON) and fills defaults; an
// absent id is defaultID (the one in the request's path, say).
func DecodeSchedule(r io.Reader, defaultID string) (Schedule, error) {
	p := plainSchedule(NewSchedule(defaultID, ""))
	if err := api.DecodeStrict(r, &p, MaxBodyBytes); err != nil {
		return Schedule{}, fmt.Errorf("decode schedule: %w", err)
	}
	return Schedule(p), nil
}

// Clone returns a deep copy, so the scheduler's state never aliases a
// caller's maps and slices.
func (j Job) Clone() Job {
	c := j
	c.Labels = cloneMap(j.Labels)
	c.Run = j.Run.clone()
	if j.Schedules != nil {
		c.Schedules = append([]Schedule{}, j.Schedules...)
	}
	return c
}

func (r RunSpec) clone() RunSpec {
	c := r
	c.Args = append([]string(nil), r.Args...)
	c.Env = cloneMap(r.Env)
	c.Fetch = append([]framework.Fetch(nil), r.Fetch...)
	if r.Constraints != nil {
		c.Constraints = make([][]string, len(r.Constraints))
		for i, con := range r.Constraints {
			c.Constraints[i] = append([]string(nil), con...)
		}
	}
	return c
}

// Schedule returns the job's schedule with the id.
func (j Job) Schedule(id string) (Schedule, bool) {
	for _, s := range j.Schedules {
		if s.ID == id {
			return s, true
		}
	}
	return Schedule{}, false
}

// Resources is what one run asks for.
func (r RunSpec) Resources() resources.Resources {
	return resources.Resources{
		CPUs:     r.CPUs,
		MemBytes: mibToBytes(r.Mem),
		Disk:     mibToBytes(r.Disk),
	}
}

func mibToBytes(mib float64) int64 {
	return int64(math.Round(mib * (1 << 20)))
}

// backoff is how long the n-th retry waits: a job failing on a broken
// dependency should not hammer it, while a one-off failure is retried
// soon.
func (r RunSpec) backoff(retry int) time.Duration {
	if retry <= 0 {
		return 0
	}
	d := r.BackoffSeconds * math.Pow(r.BackoffFactor, float64(retry-1))
	if math.IsNaN(d) || math.IsInf(d, 0) || d > r.MaxBackoffSeconds {
		d = r.MaxBackoffSeconds
	}
	return time.Duration(d * float64(time.Second))
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
