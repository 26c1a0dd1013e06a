package jobs

import (
	"fmt"
	"strings"
	"time"
	// A fallback zone database in the binary: a master on a host without
	// zoneinfo (a minimal container) must still accept and read every
	// schedule the others do.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
)

// cronParser reads standard 5-field expressions and the @daily-style
// descriptors.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// allHours is the hour field of an expression that fires in every hour.
const allHours = (1 << 24) - 1

// cronSpec is a parsed schedule: the expression and its time zone.
type cronSpec struct {
	spec *cron.SpecSchedule
	loc  *time.Location
	// fixedHours: the expression names hours ("30 2 * * *"). Such a
	// schedule fires once per wall-clock time across daylight saving
	// changes, like cron(8): a time in the spring-forward gap fires
	// after the jump, a time in the repeated autumn hour fires once.
	// Expressions over every hour ("*/5 * * * *") follow elapsed time
	// instead, so they keep firing through the repeated hour.
	fixedHours bool
}

// cronError names the field at fault: the expression or the time zone.
type cronError struct {
	field, msg string
	err        error // the parser's or the zone database's, if any
}

func (e *cronError) Error() string { return e.field + ": " + e.msg }
func (e *cronError) Unwrap() error { return e.err }

// parseCron parses a schedule's expression in its time zone.
func parseCron(expr, tz string) (cronSpec, error) {
	loc, err := loadLocation(tz)
	if err != nil {
		return cronSpec{}, &cronError{field: "timezone", msg: err.Error(), err: err}
	}
	e := strings.TrimSpace(expr)
	switch {
	case e == "":
		return cronSpec{}, &cronError{field: "cron", msg: "must not be empty"}
	case len(e) > maxCronLen:
		return cronSpec{}, &cronError{field: "cron", msg: fmt.Sprintf("must be at most %d characters", maxCronLen)}
	case strings.HasPrefix(e, "TZ=") || strings.HasPrefix(e, "CRON_TZ="):
		// One place for the zone: a prefix would silently override the
		// timezone field.
		return cronSpec{}, &cronError{field: "cron", msg: fmt.Sprintf("%q: a time zone prefix is not allowed; set the timezone field", expr)}
	case strings.HasPrefix(e, "@every"):
		return cronSpec{}, &cronError{field: "cron", msg: fmt.Sprintf("%q: @every is not a calendar schedule; use a 5-field expression", expr)}
	}
	if !strings.HasPrefix(e, "@") {
		if msg := checkCronFields(e); msg != "" {
			return cronSpec{}, &cronError{field: "cron", msg: fmt.Sprintf("schedule %q: %s", expr, msg)}
		}
	}
	s, err := cronParser.Parse(e)
	if err != nil {
		return cronSpec{}, &cronError{field: "cron", err: err,
			msg: fmt.Sprintf("schedule %q: want 5 fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly: %v", expr, err)}
	}
	spec, ok := s.(*cron.SpecSchedule)
	if !ok {
		return cronSpec{}, &cronError{field: "cron", msg: fmt.Sprintf("%q: not a calendar schedule", expr)}
	}
	c := cronSpec{spec: spec, loc: loc, fixedHours: spec.Hour&allHours != allHours}
	// "0 0 30 2 *" parses but never fires: say so now rather than
	// accept a job that silently never runs.
	if c.next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return cronSpec{}, &cronError{field: "cron", msg: fmt.Sprintf("%q never fires", expr)}
	}
	return c, nil
}

// loadLocation accepts IANA zone names only: "Local" would depend on the
// host of whichever master leads.
func loadLocation(tz string) (*time.Location, error) {
	if tz == "" || tz == "Local" {
		return nil, fmt.Errorf("%q: want an IANA time zone name such as UTC or Europe/Paris", tz)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("%q: unknown time zone: %w", tz, err)
	}
	return loc, nil
}

// next returns the first time the schedule fires strictly after t, or the
// zero time if it never does (within the parser's five-year horizon).
func (c cronSpec) next(t time.Time) time.Time {
	if !c.fixedHours {
		n := c.spec.Next(t.In(c.loc))
		if n.IsZero() {
			return n
		}
		return n.UTC()
	}
	// Step through naive wall-clock times (UTC has no daylight saving),
	// then place each in the zone, so each wall-clock time fires once:
	// time.Date maps an ambiguous time to one of its two instants.
	naive := wallClock(t, c.loc)
	for range 8 {
		naive = c.spec.Next(naive)
		if naive.IsZero() {
			return naive
		}
		at := time.Date(naive.Year(), naive.Month(), naive.Day(), naive.Hour(), naive.Minute(), naive.Second(), 0, c.loc)
		if got := wallClock(at, c.loc); !got.Equal(naive) {
			// The time is in a spring-forward gap, which time.Date maps
			// before the jump: fire as long after the jump instead, as
			// cron(8) does, rather than an hour early.
			at = at.Add(naive.Sub(got))
		}
		if at.After(t) {
			return at.UTC()
		}
		// A gap time mapped past the jump can land at or before t (a
		// later wall-clock time after the jump already fired): skip it.
	}
	return time.Time{}
}

// wallClock returns t's reading on a clock in loc, as a UTC time.
func wallClock(t time.Time, loc *time.Location) time.Time {
	w := t.In(loc)
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.UTC)
}
