package apps

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strings"

	"github.com/headroom-dev/headroom/api"
)

// FieldError lists what is wrong with one field, addressed by a JSON
// pointer-like path ("/healthChecks/0/port"), as in Marathon's 422 body.
type FieldError struct {
	Path   string   `json:"path"`
	Errors []string `json:"errors"`
}

// ValidationError is an invalid app definition; it marshals to Marathon's
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

// Limits. The id length keeps "<id>.<suffix>" task ids within api.ValidID's
// 200 characters.
const (
	maxIDLen     = 150
	maxCPUs      = 1024
	maxMemMiB    = 1 << 30 // 1 PiB; far beyond any host, far below int64 bytes
	maxInstances = 10000
)

var (
	idSegmentRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$`)
	envKeyRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	sha256RE    = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

// validator collects errors by path, keeping the order fields are checked
// in so the 422 body reads like the definition.
type validator struct {
	details []FieldError
}

func (v *validator) add(path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	for i := range v.details {
		if v.details[i].Path == path {
			v.details[i].Errors = append(v.details[i].Errors, msg)
			return
		}
	}
	v.details = append(v.details, FieldError{Path: path, Errors: []string{msg}})
}

// Validate checks the definition; the error is a *ValidationError listing
// every bad field.
func (a App) Validate() error {
	v := &validator{}
	validateID(v, a.ID)
	if (a.Cmd == "") == (len(a.Args) == 0) {
		v.add("/cmd", "exactly one of cmd and args must be set")
	}
	if !(a.CPUs > 0) || a.CPUs > maxCPUs {
		v.add("/cpus", "must be > 0 and <= %d", maxCPUs)
	}
	if !(a.Mem > 0) || a.Mem > maxMemMiB {
		v.add("/mem", "must be > 0 and <= %d", maxMemMiB)
	}
	if !(a.Disk >= 0) || a.Disk > maxMemMiB {
		v.add("/disk", "must be >= 0 and <= %d", maxMemMiB)
	}
	if a.Instances < 0 || a.Instances > maxInstances {
		v.add("/instances", "must be between 0 and %d", maxInstances)
	}
	for i, c := range a.Constraints {
		if _, err := parseConstraint(c); err != nil {
			v.add(fmt.Sprintf("/constraints/%d", i), "%v", err)
		}
	}
	for _, k := range sortedKeys(a.Env) {
		if !envKeyRE.MatchString(k) {
			v.add("/env/"+k, "not a valid environment variable name")
		}
	}
	for _, k := range sortedKeys(a.Labels) {
		if k == "" {
			v.add("/labels", "label keys must not be empty")
		}
	}
	for i, f := range a.Fetch {
		validateFetch(v, fmt.Sprintf("/fetch/%d", i), f)
	}
	for i, h := range a.HealthChecks {
		validateHealthCheck(v, fmt.Sprintf("/healthChecks/%d", i), h)
	}
	if !(a.BackoffSeconds >= 0) || math.IsInf(a.BackoffSeconds, 0) {
		v.add("/backoffSeconds", "must be >= 0")
	}
	if !(a.BackoffFactor >= 1) || math.IsInf(a.BackoffFactor, 0) {
		v.add("/backoffFactor", "must be >= 1")
	}
	if !(a.MaxLaunchDelaySeconds >= 0) || math.IsInf(a.MaxLaunchDelaySeconds, 0) {
		v.add("/maxLaunchDelaySeconds", "must be >= 0")
	}
	if len(v.details) == 0 {
		return nil
	}
	return &ValidationError{Message: "Object is not valid", Details: v.details}
}

func validateID(v *validator, id string) {
	switch {
	case id == "":
		v.add("/id", "must not be empty")
		return
	case len(id) > maxIDLen:
		v.add("/id", "must be at most %d characters", maxIDLen)
		return
	case strings.Contains(id, ".."):
		// Task ids embed the app id and must not contain "..".
		v.add("/id", "must not contain \"..\"")
		return
	}
	for _, seg := range strings.Split(id, "/") {
		if !idSegmentRE.MatchString(seg) {
			v.add("/id", "path segment %q must match %s", seg, idSegmentRE)
			return
		}
	}
}

func validateFetch(v *validator, path string, f Fetch) {
	if !strings.HasPrefix(f.URI, "/") {
		u, err := url.Parse(f.URI)
		switch {
		case f.URI == "":
			v.add(path+"/uri", "must not be empty")
		case err != nil:
			v.add(path+"/uri", "not a URI: %v", err)
		case u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file":
			v.add(path+"/uri", "scheme must be http, https or file, or an absolute path")
		}
	}
	if f.SHA256 != "" && !sha256RE.MatchString(f.SHA256) {
		v.add(path+"/sha256", "must be 64 hex digits")
	}
	if f.DestPath != "" && (!api.SafeRelPath(f.DestPath) || strings.Contains(f.DestPath, "/")) {
		v.add(path+"/destPath", "must be a plain file name")
	}
}

func validateHealthCheck(v *validator, path string, h HealthCheck) {
	switch h.Protocol {
	case "HTTP", "TCP":
		if h.Port < 1 || h.Port > 65535 {
			v.add(path+"/port", "must be between 1 and 65535 for %s checks", h.Protocol)
		}
		if h.Protocol == "HTTP" && h.Path != "" && !strings.HasPrefix(h.Path, "/") {
			v.add(path+"/path", "must start with /")
		}
	case "COMMAND":
		if h.Command == nil || strings.TrimSpace(h.Command.Value) == "" {
			v.add(path+"/command", "COMMAND checks need command.value")
		}
	default:
		v.add(path+"/protocol", "must be HTTP, TCP or COMMAND")
	}
	if !(h.GracePeriodSeconds >= 0) || math.IsInf(h.GracePeriodSeconds, 0) {
		v.add(path+"/gracePeriodSeconds", "must be >= 0")
	}
	if !(h.IntervalSeconds > 0) || math.IsInf(h.IntervalSeconds, 0) {
		v.add(path+"/intervalSeconds", "must be > 0")
	}
	if !(h.TimeoutSeconds > 0) || math.IsInf(h.TimeoutSeconds, 0) {
		v.add(path+"/timeoutSeconds", "must be > 0")
	}
	if h.MaxConsecutiveFailures < 0 {
		v.add(path+"/maxConsecutiveFailures", "must be >= 0 (0 never kills)")
	}
}
