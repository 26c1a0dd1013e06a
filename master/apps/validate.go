package apps

import (
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/headroom-dev/headroom/master/framework"
)

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
)

// Validate checks the definition; the error is a *ValidationError listing
// every bad field.
func (a App) Validate() error {
	v := &framework.Validator{}
	validateID(v, a.ID)
	if (a.Cmd == "") == (len(a.Args) == 0) {
		v.Add("/cmd", "exactly one of cmd and args must be set")
	}
	if !(a.CPUs > 0) || a.CPUs > maxCPUs {
		v.Add("/cpus", "must be > 0 and <= %d", maxCPUs)
	}
	if !(a.Mem > 0) || a.Mem > maxMemMiB {
		v.Add("/mem", "must be > 0 and <= %d", maxMemMiB)
	}
	if !(a.Disk >= 0) || a.Disk > maxMemMiB {
		v.Add("/disk", "must be >= 0 and <= %d", maxMemMiB)
	}
	if a.Instances < 0 || a.Instances > maxInstances {
		v.Add("/instances", "must be between 0 and %d", maxInstances)
	}
	for i, c := range a.Constraints {
		if _, err := framework.ParseConstraint(c); err != nil {
			v.Add(fmt.Sprintf("/constraints/%d", i), "%v", err)
		}
	}
	for _, k := range sortedKeys(a.Env) {
		if !envKeyRE.MatchString(k) {
			v.Add("/env/"+k, "not a valid environment variable name")
		}
	}
	for _, k := range sortedKeys(a.Labels) {
		if k == "" {
			v.Add("/labels", "label keys must not be empty")
		}
	}
	for i, f := range a.Fetch {
		framework.ValidateFetch(v, func(field string) string { return fmt.Sprintf("/fetch/%d/%s", i, field) }, f)
	}
	for i, h := range a.HealthChecks {
		validateHealthCheck(v, fmt.Sprintf("/healthChecks/%d", i), h)
	}
	if !(a.BackoffSeconds >= 0) || math.IsInf(a.BackoffSeconds, 0) {
		v.Add("/backoffSeconds", "must be >= 0")
	}
	if !(a.BackoffFactor >= 1) || math.IsInf(a.BackoffFactor, 0) {
		v.Add("/backoffFactor", "must be >= 1")
	}
	if !(a.MaxLaunchDelaySeconds >= 0) || math.IsInf(a.MaxLaunchDelaySeconds, 0) {
		v.Add("/maxLaunchDelaySeconds", "must be >= 0")
	}
	return v.Err("Object is not valid")
}

func validateID(v *framework.Validator, id string) {
	switch {
	case id == "":
		v.Add("/id", "must not be empty")
		return
	case len(id) > maxIDLen:
		v.Add("/id", "must be at most %d characters", maxIDLen)
		return
	case strings.Contains(id, ".."):
		// Task ids embed the app id and must not contain "..".
		v.Add("/id", "must not contain \"..\"")
		return
	}
	for _, seg := range strings.Split(id, "/") {
		if !idSegmentRE.MatchString(seg) {
			v.Add("/id", "path segment %q must match %s", seg, idSegmentRE)
			return
		}
	}
}

func validateHealthCheck(v *framework.Validator, path string, h HealthCheck) {
	switch h.Protocol {
	case "HTTP", "TCP":
		if h.Port < 1 || h.Port > 65535 {
			v.Add(path+"/port", "must be between 1 and 65535 for %s checks", h.Protocol)
		}
		if h.Protocol == "HTTP" && h.Path != "" && !strings.HasPrefix(h.Path, "/") {
			v.Add(path+"/path", "must start with /")
		}
	case "COMMAND":
		if h.Command == nil || strings.TrimSpace(h.Command.Value) == "" {
			v.Add(path+"/command", "COMMAND checks need command.value")
		}
	default:
		v.Add(path+"/protocol", "must be HTTP, TCP or COMMAND")
	}
	if !(h.GracePeriodSeconds >= 0) || math.IsInf(h.GracePeriodSeconds, 0) {
		v.Add(path+"/gracePeriodSeconds", "must be >= 0")
	}
	if !(h.IntervalSeconds > 0) || math.IsInf(h.IntervalSeconds, 0) {
		v.Add(path+"/intervalSeconds", "must be > 0")
	}
	if !(h.TimeoutSeconds > 0) || math.IsInf(h.TimeoutSeconds, 0) {
		v.Add(path+"/timeoutSeconds", "must be > 0")
	}
	if h.MaxConsecutiveFailures < 0 {
		v.Add(path+"/maxConsecutiveFailures", "must be >= 0 (0 never kills)")
	}
}
