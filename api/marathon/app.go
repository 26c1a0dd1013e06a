package marathon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"

	"github.com/headroom-dev/headroom/api"
)

// App is one Marathon app definition, every field of Marathon's
// AppDefinition (its RAML), plus headroom's own revocable. Fields the
// server fills in (tasks, counts, version info) are in AppView, and are
// accepted here when a client sends back what it read.
type App struct {
	ID          string         `json:"id"`
	Cmd         string         `json:"cmd,omitempty"`
	Args        []string       `json:"args,omitempty"`
	User        string         `json:"user,omitempty"`
	Env         map[string]Env `json:"env,omitempty"`
	Instances   *int           `json:"instances,omitempty"`
	CPUs        *float64       `json:"cpus,omitempty"`
	Mem         *float64       `json:"mem,omitempty"`
	Disk        *float64       `json:"disk,omitempty"`
	GPUs        *float64       `json:"gpus,omitempty"`
	Executor    string         `json:"executor,omitempty"`
	Constraints []Constraint   `json:"constraints,omitempty"`
	// URIs is the older spelling of Fetch: each is fetched, archives
	// extracted.
	URIs                  []string          `json:"uris,omitempty"`
	Fetch                 []Fetch           `json:"fetch,omitempty"`
	StoreURLs             []string          `json:"storeUrls,omitempty"`
	BackoffSeconds        *float64          `json:"backoffSeconds,omitempty"`
	BackoffFactor         *float64          `json:"backoffFactor,omitempty"`
	MaxLaunchDelaySeconds *float64          `json:"maxLaunchDelaySeconds,omitempty"`
	Container             *Container        `json:"container,omitempty"`
	HealthChecks          []HealthCheck     `json:"healthChecks,omitempty"`
	ReadinessChecks       []json.RawMessage `json:"readinessChecks,omitempty"`
	Dependencies          []string          `json:"dependencies,omitempty"`
	UpgradeStrategy       *UpgradeStrategy  `json:"upgradeStrategy,omitempty"`
	Labels                map[string]string `json:"labels,omitempty"`
	AcceptedResourceRoles []string          `json:"acceptedResourceRoles,omitempty"`
	IPAddress             json.RawMessage   `json:"ipAddress,omitempty"`
	Residency             json.RawMessage   `json:"residency,omitempty"`
	Secrets               json.RawMessage   `json:"secrets,omitempty"`
	// Ports and PortDefinitions declare the app's ports. headroom
	// allocates none: fixed numbers are passed to the task as PORT0..n
	// and serve health checks' portIndex; 0 (Marathon picks) cannot be.
	Ports                      []int                `json:"ports,omitempty"`
	PortDefinitions            []PortDefinition     `json:"portDefinitions,omitempty"`
	RequirePorts               *bool                `json:"requirePorts,omitempty"`
	TaskKillGracePeriodSeconds *float64             `json:"taskKillGracePeriodSeconds,omitempty"`
	UnreachableStrategy        *UnreachableStrategy `json:"unreachableStrategy,omitempty"`
	KillSelection              string               `json:"killSelection,omitempty"`
	Networks                   []Network            `json:"networks,omitempty"`
	Role                       string               `json:"role,omitempty"`
	ResourceLimits             json.RawMessage      `json:"resourceLimits,omitempty"`
	TTY                        *bool                `json:"tty,omitempty"`
	// Revocable is headroom's: true runs the app on harvested capacity,
	// false on dedicated capacity only. A Marathon client leaves it out
	// and gets the server's default (Options.DefaultRevocable) with
	// DedicatedFallback on.
	Revocable *bool `json:"revocable,omitempty"`
	// DedicatedFallback is headroom's too: a revocable app that no
	// harvested capacity fits runs on dedicated capacity instead. Left
	// out, it is on exactly when revocable is left out too: an app from a
	// client that knows nothing of harvesting is placed while the harvest
	// is zero, and one that chose its pool keeps to it.
	DedicatedFallback *bool `json:"dedicatedFallback,omitempty"`

	readOnly
}

// readOnly are the fields of a GET answer a client may send back in a
// PUT: accepted, never acted on, never warned about.
type readOnly struct {
	Version         string          `json:"version,omitempty"`
	VersionInfo     json.RawMessage `json:"versionInfo,omitempty"`
	Tasks           json.RawMessage `json:"tasks,omitempty"`
	TasksRunning    json.RawMessage `json:"tasksRunning,omitempty"`
	TasksStaged     json.RawMessage `json:"tasksStaged,omitempty"`
	TasksHealthy    json.RawMessage `json:"tasksHealthy,omitempty"`
	TasksUnhealthy  json.RawMessage `json:"tasksUnhealthy,omitempty"`
	TaskStats       json.RawMessage `json:"taskStats,omitempty"`
	Deployments     json.RawMessage `json:"deployments,omitempty"`
	LastTaskFailure json.RawMessage `json:"lastTaskFailure,omitempty"`
	ReadinessResult json.RawMessage `json:"readinessCheckResults,omitempty"`
	// headroom's own additions to the view.
	TasksWaiting json.RawMessage `json:"tasksWaiting,omitempty"`
	Reason       json.RawMessage `json:"reason,omitempty"`
	ReasonSince  json.RawMessage `json:"reasonSince,omitempty"`
	Warnings     json.RawMessage `json:"warnings,omitempty"`
}

// Env is one environment value: a string, or a reference to a secret
// ({"secret": "name"}), which headroom does not resolve.
type Env struct {
	Value  string
	Secret string
}

// UnmarshalJSON reads a string or {"secret": ...}.
func (e *Env) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &e.Value)
	}
	var ref struct {
		Secret *string `json:"secret"`
	}
	if err := json.Unmarshal(b, &ref); err != nil || ref.Secret == nil {
		return typeError(b, reflect.TypeFor[string]())
	}
	e.Secret = *ref.Secret
	return nil
}

// MarshalJSON writes what was read.
func (e Env) MarshalJSON() ([]byte, error) {
	if e.Secret != "" {
		return json.Marshal(map[string]string{"secret": e.Secret})
	}
	return json.Marshal(e.Value)
}

// Constraint is one placement rule. Marathon writes them as arrays,
// ["hostname", "UNIQUE"] or ["rack", "GROUP_BY", "3"]; older tools as
// "field:OPERATOR:value" strings and pods as {"fieldName", "operator",
// "value"} objects. All three read into the array form.
type Constraint []string

// UnmarshalJSON reads the three forms.
func (c *Constraint) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '[':
		var arr []string
		if err := json.Unmarshal(b, &arr); err != nil {
			return typeError(b, reflect.TypeFor[[]string]())
		}
		*c = arr
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = strings.SplitN(s, ":", 3)
	case len(b) > 0 && b[0] == '{':
		var o struct {
			FieldName string  `json:"fieldName"`
			Operator  string  `json:"operator"`
			Value     *string `json:"value"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return typeError(b, reflect.TypeFor[[]string]())
		}
		*c = []string{o.FieldName, o.Operator}
		if o.Value != nil {
			*c = append(*c, *o.Value)
		}
	default:
		return typeError(b, reflect.TypeFor[[]string]())
	}
	return nil
}

// Fetch is one artifact fetched into the sandbox.
type Fetch struct {
	URI        string `json:"uri"`
	Executable bool   `json:"executable,omitempty"`
	// Extract unpacks an archive. headroom's default is false, as for its
	// own files (Marathon's is true): an app that relied on Marathon's
	// default sets it, or uses uris.
	Extract  *bool  `json:"extract,omitempty"`
	Cache    bool   `json:"cache,omitempty"`
	DestPath string `json:"destPath,omitempty"`
	// SHA256 is headroom's: the fetched bytes must match it (hex).
	SHA256 string `json:"sha256,omitempty"`
}

// Container is Marathon's container; headroom runs commands in cgroups
// and takes none of it.
type Container struct {
	Type         string          `json:"type,omitempty"`
	Docker       json.RawMessage `json:"docker,omitempty"`
	Volumes      json.RawMessage `json:"volumes,omitempty"`
	PortMappings json.RawMessage `json:"portMappings,omitempty"`
	LinuxInfo    json.RawMessage `json:"linuxInfo,omitempty"`
}

// HealthCheck is one Marathon health check. Unset numbers take
// Marathon's defaults.
type HealthCheck struct {
	Protocol               string        `json:"protocol,omitempty"`
	Path                   string        `json:"path,omitempty"`
	PortIndex              *int          `json:"portIndex,omitempty"`
	Port                   *int          `json:"port,omitempty"`
	Command                *CheckCommand `json:"command,omitempty"`
	GracePeriodSeconds     *float64      `json:"gracePeriodSeconds,omitempty"`
	IntervalSeconds        *float64      `json:"intervalSeconds,omitempty"`
	TimeoutSeconds         *float64      `json:"timeoutSeconds,omitempty"`
	MaxConsecutiveFailures *int          `json:"maxConsecutiveFailures,omitempty"`
	DelaySeconds           *float64      `json:"delaySeconds,omitempty"`
	IgnoreHTTP1xx          *bool         `json:"ignoreHttp1xx,omitempty"`
	IPProtocol             string        `json:"ipProtocol,omitempty"`
}

// CheckCommand is a COMMAND check's command.
type CheckCommand struct {
	Value string `json:"value"`
}

// UpgradeStrategy bounds a rolling replacement.
type UpgradeStrategy struct {
	MinimumHealthCapacity *float64 `json:"minimumHealthCapacity,omitempty"`
	MaximumOverCapacity   *float64 `json:"maximumOverCapacity,omitempty"`
}

// PortDefinition declares one port of the app.
type PortDefinition struct {
	Port     int               `json:"port"`
	Protocol string            `json:"protocol,omitempty"`
	Name     string            `json:"name,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// UnreachableStrategy is "disabled" or when Marathon replaces and
// forgets tasks of unreachable agents.
type UnreachableStrategy struct {
	Disabled             bool
	InactiveAfterSeconds *float64 `json:"inactiveAfterSeconds,omitempty"`
	ExpungeAfterSeconds  *float64 `json:"expungeAfterSeconds,omitempty"`
}

// UnmarshalJSON reads "disabled" or the object.
func (u *UnreachableStrategy) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s != "disabled" {
			return &json.UnmarshalTypeError{Value: fmt.Sprintf("string %q", s), Type: reflect.TypeFor[UnreachableStrategy]()}
		}
		*u = UnreachableStrategy{Disabled: true}
		return nil
	}
	type plain UnreachableStrategy
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return typeError(b, reflect.TypeFor[UnreachableStrategy]())
	}
	p.Disabled = false
	*u = UnreachableStrategy(p)
	return nil
}

// MarshalJSON writes what was read.
func (u UnreachableStrategy) MarshalJSON() ([]byte, error) {
	if u.Disabled {
		return []byte(`"disabled"`), nil
	}
	type plain struct {
		InactiveAfterSeconds *float64 `json:"inactiveAfterSeconds,omitempty"`
		ExpungeAfterSeconds  *float64 `json:"expungeAfterSeconds,omitempty"`
	}
	return json.Marshal(plain{u.InactiveAfterSeconds, u.ExpungeAfterSeconds})
}

// Network is one network the app joins; headroom tasks share the host's.
type Network struct {
	Mode   string            `json:"mode,omitempty"`
	Name   string            `json:"name,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// typeError reports a value of the wrong kind as encoding/json does, so
// that the decoder adds the field's path to it.
func typeError(b []byte, want reflect.Type) error {
	b = bytes.TrimSpace(b)
	kind := "value"
	if len(b) > 0 {
		switch b[0] {
		case '"':
			kind = "string"
		case '[':
			kind = "array"
		case '{':
			kind = "object"
		case 't', 'f':
			kind = "bool"
		default:
			kind = "number " + string(b)
		}
	}
	return &json.UnmarshalTypeError{Value: kind, Type: want}
}

// Decode reads one Marathon app definition: every field of Marathon's
// schema is accepted (ToApp says which have no effect here), nulls read
// as absent (Marathon clients send "ports": null), and a field outside
// the schema is still an error naming its path, as is a value of the
// wrong type: a typo must not silently run the default.
func Decode(r io.Reader, limit int64) (App, error) {
	var a App
	var unknown []string
	if err := api.DecodeLenient(r, &a, limit, func(i api.Ignored) {
		if i.Why == api.IgnoredUnknown {
			unknown = append(unknown, i.Path)
		}
	}); err != nil {
		return App{}, err
	}
	if len(unknown) > 0 {
		return App{}, fmt.Errorf("unknown field %q", unknown[0])
	}
	return a, nil
}

// Merge lays the top-level fields of patch (a PUT body) over base (the
// app's current definition as JSON), as Marathon's partial update does;
// nulls in patch leave base's field as it is.
func Merge(base App, patch []byte) ([]byte, error) {
	b, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	var into map[string]json.RawMessage
	if err := json.Unmarshal(b, &into); err != nil {
		return nil, err
	}
	var over map[string]json.RawMessage
	if err := json.Unmarshal(patch, &over); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(over))
	for k := range over {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if string(bytes.TrimSpace(over[k])) == "null" {
			continue
		}
		into[k] = over[k]
	}
	return json.Marshal(into)
}
