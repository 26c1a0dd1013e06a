package jobs

import (
	"fmt"
	"strconv"
	"strings"
)

// cronField is one of the five fields of an expression with its range
// and, for months and weekdays, the names the parser also takes.
type cronField struct {
	name     string
	min, max int
	names    []string // names[i] stands for min+i
}

// cronFields returns the five fields in expression order (a function, so
// that no caller can change the table for the others).
func cronFields() [5]cronField {
	return [5]cronField{
		{name: "minute", min: 0, max: 59},
		{name: "hour", min: 0, max: 23},
		{name: "day-of-month", min: 1, max: 31},
		{name: "month", min: 1, max: 12, names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
		{name: "day-of-week", min: 0, max: 6, names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
	}
}

// checkCronFields finds what is wrong with a 5-field expression before
// the parser sees it, field by field with each field's range: the
// parser's own messages ("above maximum", a bare strconv error for a
// huge step) name neither the field nor what it takes. It returns "" when
// every field is well formed.
func checkCronFields(expr string) string {
	spec := cronFields()
	fields := strings.Fields(expr)
	if len(fields) != len(spec) {
		return fmt.Sprintf("want 5 fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly, got %d fields", len(fields))
	}
	for i, f := range fields {
		for _, item := range strings.Split(f, ",") {
			if msg := spec[i].check(item); msg != "" {
				return msg
			}
		}
	}
	return ""
}

// check reads one comma-separated item: *, ?, N, N-M, each optionally
// followed by /STEP.
func (c cronField) check(item string) string {
	rng, step, hasStep := strings.Cut(item, "/")
	if hasStep {
		n, err := strconv.Atoi(step)
		span := c.max - c.min + 1
		if err != nil || n < 1 || n > span {
			return fmt.Sprintf("%s step %q out of range 1-%d", c.name, step, span)
		}
	}
	if rng == "*" || rng == "?" {
		return ""
	}
	lo, hi, isRange := strings.Cut(rng, "-")
	a, msg := c.value(lo)
	if msg != "" {
		return msg
	}
	if !isRange {
		return ""
	}
	b, msg := c.value(hi)
	if msg != "" {
		return msg
	}
	if a > b {
		return fmt.Sprintf("%s range %s is backwards: %d is after %d", c.name, rng, a, b)
	}
	return ""
}

// value reads one number or name of the field and checks its range.
func (c cronField) value(s string) (int, string) {
	for i, n := range c.names {
		if strings.EqualFold(s, n) {
			return c.min + i, ""
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		if s == "" {
			return 0, fmt.Sprintf("%s: empty value", c.name)
		}
		if len(c.names) > 0 {
			return 0, fmt.Sprintf("%s %q: want a number %d-%d or a name (%s-%s)", c.name, s, c.min, c.max, c.names[0], c.names[len(c.names)-1])
		}
		return 0, fmt.Sprintf("%s %q: want a number %d-%d", c.name, s, c.min, c.max)
	}
	if n < c.min || n > c.max {
		return 0, fmt.Sprintf("%s %d out of range %d-%d", c.name, n, c.min, c.max)
	}
	return n, ""
}
