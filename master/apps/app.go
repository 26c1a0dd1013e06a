package apps

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/master/framework"
)

// MaxBodyBytes caps an app definition on the wire: a definition is a few
// kilobytes, anything near a megabyte is a mistake or an attack.
const MaxBodyBytes = 1 << 20

// Defaults, as Marathon documents them.
const (
	DefaultCPUs                   = 1.0
	DefaultMem                    = 128.0
	DefaultInstances              = 1
	DefaultBackoffSeconds         = 1.0
	DefaultBackoffFactor          = 1.15
	DefaultMaxLaunchDelaySeconds  = 3600.0
	DefaultGracePeriodSeconds     = 300.0
	DefaultIntervalSeconds        = 60.0
	DefaultTimeoutSeconds         = 20.0
	DefaultMaxConsecutiveFailures = 3
)

// App is one long-running application: the subset of Marathon's /v2/apps
// definition headroom understands, with Marathon's JSON names so existing
// definitions and tooling keep working.
type App struct {
	// ID is a Marathon path ("/web/frontend"), stored without the leading
	// slash.
	ID   string   `json:"id"`
	Cmd  string   `json:"cmd,omitempty"`
	Args []string `json:"args,omitempty"`
	// CPUs in cores, Mem and Disk in MiB, per instance.
	CPUs      float64 `json:"cpus"`
	Mem       float64 `json:"mem"`
	Disk      float64 `json:"disk"`
	Instances int     `json:"instances"`
	// Constraints are [field, OPERATOR, value?] triples; see constraints.go.
	Constraints  [][]string        `json:"constraints,omitempty"`
	Env          map[string]string `json:"env,omitempty"`
	Fetch        []framework.Fetch `json:"fetch,omitempty"`
	HealthChecks []HealthCheck     `json:"healthChecks,omitempty"`
	// Backoff between replacements of failing tasks: the n-th consecutive
	// failure waits BackoffSeconds*BackoffFactor^(n-1), at most
	// MaxLaunchDelaySeconds.
	BackoffSeconds        float64           `json:"backoffSeconds"`
	BackoffFactor         float64           `json:"backoffFactor"`
	MaxLaunchDelaySeconds float64           `json:"maxLaunchDelaySeconds"`
	Labels                map[string]string `json:"labels,omitempty"`
	// Revocable apps run on harvested capacity (the default: most apps on
	// headroom are batch-like and cheap to move); false restricts the app
	// to the dedicated pool.
	Revocable bool `json:"revocable"`
	// DedicatedFallback lets a revocable app that no harvested capacity
	// fits run on the dedicated pool instead, so that an app written for
	// a scheduler that knows nothing of harvesting (a Marathon client)
	// is placed while the harvest is zero. Each task keeps the pool it
	// was launched on. Ignored when Revocable is false.
	DedicatedFallback bool `json:"dedicatedFallback,omitempty"`
	// Version is set by the scheduler on every definition change (RFC3339
	// with milliseconds); tasks carry the version they were launched with.
	Version string `json:"version,omitempty"`
}

// HealthCheck is one Marathon health check. HTTP and TCP checks are run by
// the master against the task's host and an explicit port (headroom has no
// port mapping); COMMAND checks run on the task's agent.
type HealthCheck struct {
	Protocol               string        `json:"protocol"`
	Path                   string        `json:"path,omitempty"`
	Port                   int           `json:"port,omitempty"`
	Command                *CheckCommand `json:"command,omitempty"`
	GracePeriodSeconds     float64       `json:"gracePeriodSeconds"`
	IntervalSeconds        float64       `json:"intervalSeconds"`
	TimeoutSeconds         float64       `json:"timeoutSeconds"`
	MaxConsecutiveFailures int           `json:"maxConsecutiveFailures"`
}

// CheckCommand is the shell command of a COMMAND health check.
type CheckCommand struct {
	Value string `json:"value"`
}

// NewApp returns an app with Marathon's defaults, for callers that build
// definitions in Go rather than decoding JSON.
func NewApp(id string) App {
	return App{
		ID:                    NormalizeID(id),
		CPUs:                  DefaultCPUs,
		Mem:                   DefaultMem,
		Instances:             DefaultInstances,
		BackoffSeconds:        DefaultBackoffSeconds,
		BackoffFactor:         DefaultBackoffFactor,
		MaxLaunchDelaySeconds: DefaultMaxLaunchDelaySeconds,
		Revocable:             true,
	}
}

// NewHealthCheck returns a check of the protocol with Marathon's defaults.
func NewHealthCheck(protocol string) HealthCheck {
	return HealthCheck{
		Protocol:               protocol,
		GracePeriodSeconds:     DefaultGracePeriodSeconds,
		IntervalSeconds:        DefaultIntervalSeconds,
		TimeoutSeconds:         DefaultTimeoutSeconds,
		MaxConsecutiveFailures: DefaultMaxConsecutiveFailures,
	}
}

// NormalizeID strips the leading (and any trailing) slash of a Marathon
// path: "/web" and "web" name the same app.
func NormalizeID(id string) string {
	return strings.Trim(id, "/")
}

// strictUnmarshal decodes data into v rejecting unknown fields. Custom
// UnmarshalJSON methods do not inherit the outer decoder's
// DisallowUnknownFields, so they must re-impose it.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// UnmarshalJSON fills Marathon's defaults for absent fields: decoding into
// a pre-filled value keeps the default exactly when the field is missing,
// while an explicit 0 (say "instances": 0) stays 0.
func (a *App) UnmarshalJSON(data []byte) error {
	type plain App
	p := plain(NewApp(""))
	if err := strictUnmarshal(data, &p); err != nil {
		return err
	}
	*a = App(p)
	a.ID = NormalizeID(a.ID)
	return nil
}

// UnmarshalJSON fills the health check defaults for absent fields.
func (h *HealthCheck) UnmarshalJSON(data []byte) error {
	type plain HealthCheck
	p := plain(NewHealthCheck(""))
	if err := strictUnmarshal(data, &p); err != nil {
		return err
	}
	*h = HealthCheck(p)
	return nil
}

// DecodeApp reads one app definition (strict JSON, at most MaxBodyBytes)
// and fills defaults. It does not validate: call Validate.
func DecodeApp(r io.Reader) (App, error) {
	var a App
	// Not wrapped: callers name the app, and "decode app" would only
	// stand between that and the field.
	if err := api.DecodeStrict(r, &a, MaxBodyBytes); err != nil {
		return App{}, err
	}
	return a, nil
}

// Clone returns a deep copy, so the scheduler's state never aliases a
// caller's maps and slices.
func (a App) Clone() App {
	c := a
	c.Args = append([]string(nil), a.Args...)
	if a.Constraints != nil {
		c.Constraints = make([][]string, len(a.Constraints))
		for i, con := range a.Constraints {
			c.Constraints[i] = append([]string(nil), con...)
		}
	}
	c.Env = cloneMap(a.Env)
	c.Labels = cloneMap(a.Labels)
	c.Fetch = append([]framework.Fetch(nil), a.Fetch...)
	if a.HealthChecks != nil {
		c.HealthChecks = make([]HealthCheck, len(a.HealthChecks))
		for i, h := range a.HealthChecks {
			if h.Command != nil {
				cmd := *h.Command
				h.Command = &cmd
			}
			c.HealthChecks[i] = h
		}
	}
	return c
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

// sameDefinition reports whether a and b differ at most in instances and
// version: such a change is a scale, anything else replaces the tasks.
func sameDefinition(a, b App) bool {
	a.Instances, b.Instances = 0, 0
	a.Version, b.Version = "", ""
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	// Marshal sorts map keys, so equal definitions give equal bytes.
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// Resources is what one instance asks for.
func (a App) Resources() resources.Resources {
	return resources.Resources{
		CPUs:     a.CPUs,
		MemBytes: mibToBytes(a.Mem),
		Disk:     mibToBytes(a.Disk),
	}
}

func mibToBytes(mib float64) int64 {
	return int64(math.Round(mib * (1 << 20)))
}

// taskIDPrefix is the app part of its task ids: slashes are not allowed in
// task ids, and underscores never occur in app ids, so the mapping is
// reversible.
func taskIDPrefix(appID string) string {
	return strings.ReplaceAll(appID, "/", "_") + "."
}

// taskInfo builds what the agent runs for one instance of the app.
func (a App) taskInfo(frameworkID, taskID string) api.TaskInfo {
	env := cloneMap(a.Env)
	if env == nil {
		env = map[string]string{}
	}
	env["HEADROOM_APP_ID"] = a.ID
	// Marathon's variable carries the leading slash; scripts compare it.
	env["MARATHON_APP_ID"] = "/" + a.ID
	env["HEADROOM_APP_VERSION"] = a.Version
	labels := cloneMap(a.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels["app"] = a.ID
	var fetch []api.FetchURI
	for _, f := range a.Fetch {
		fetch = append(fetch, api.FetchURI{
			URI: f.URI, Extract: f.Extract, Executable: f.Executable,
			SHA256: f.SHA256, OutputFile: f.DestPath,
		})
	}
	return api.TaskInfo{
		ID:          taskID,
		FrameworkID: frameworkID,
		Name:        a.ID,
		Cmd:         a.Cmd,
		Args:        append([]string(nil), a.Args...),
		Env:         env,
		Resources:   a.Resources(),
		Revocable:   a.Revocable,
		Fetch:       fetch,
		Labels:      labels,
	}
}

// sortedKeys returns the keys of m in order, for deterministic iteration.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
