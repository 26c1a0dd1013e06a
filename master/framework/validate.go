package framework

import (
	"fmt"
	"strings"
)

// FieldError lists what is wrong with one field, addressed by a JSON
// pointer-like path ("/healthChecks/0/port"), as in Marathon's 422 body.
type FieldError struct {
	Path   string   `json:"path"`
	Errors []string `json:"errors"`
}

// ValidationError is an invalid app or job definition; it marshals to Marathon's
// 422 body {"message":"Object is not valid","details":[...]}.
type ValidationError struct {
	Message string       `json:"message"`
	Details []FieldError `json:"details"`
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for i, d := range e.Details {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", d.Path, strings.Join(d.Errors, ", "))
	}
	return b.String()
}

// Validator collects field errors by path, in the order fields are
// checked, so the error reads like the definition (Marathon's 422 body).
type Validator struct {
	details []FieldError
}

// Add records that the field at path is wrong.
func (v *Validator) Add(path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	for i := range v.details {
		if v.details[i].Path == path {
			v.details[i].Errors = append(v.details[i].Errors, msg)
			return
		}
	}
	v.details = append(v.details, FieldError{Path: path, Errors: []string{msg}})
}

// Err is nil when nothing was added, else a *ValidationError with msg
// and every field error.
func (v *Validator) Err(msg string) error {
	if len(v.details) == 0 {
		return nil
	}
	return &ValidationError{Message: msg, Details: v.details}
}
