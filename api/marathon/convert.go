package marathon

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/headroom-dev/headroom/master/apps"
)

// Options are the server's choices for what a Marathon document leaves
// unsaid.
type Options struct {
	// DefaultRevocable is the pool of an app that does not set
	// revocable; such an app also gets DedicatedFallback unless it sets
	// that, so a Marathon client's app, which knows nothing of harvested
	// capacity, prefers it and is still placed while the harvest is zero.
	DefaultRevocable bool
}

// Protocols of health checks as Marathon names them.
const (
	ProtoHTTP       = "HTTP"
	ProtoHTTPS      = "HTTPS"
	ProtoTCP        = "TCP"
	ProtoCommand    = "COMMAND"
	ProtoMesosHTTP  = "MESOS_HTTP"
	ProtoMesosHTTPS = "MESOS_HTTPS"
	ProtoMesosTCP   = "MESOS_TCP"
)

// ToApp converts a Marathon definition to headroom's app. The warnings
// list every field that was accepted but has no effect here, each as
// "<path>: <why>"; the error is an *apps.ValidationError (Marathon's 422)
// for what cannot be understood at all, such as a portIndex past the
// declared ports. The app still goes through apps' own Validate.
func ToApp(m App, opt Options) (apps.App, []string, error) {
	a := apps.NewApp(m.ID)
	var warn []string
	w := func(path, format string, args ...any) {
		warn = append(warn, path+": "+fmt.Sprintf(format, args...))
	}
	v := &fieldErrors{}

	a.Cmd, a.Args = m.Cmd, append([]string(nil), m.Args...)
	setF(&a.CPUs, m.CPUs)
	setF(&a.Mem, m.Mem)
	setF(&a.Disk, m.Disk)
	if m.Instances != nil {
		a.Instances = *m.Instances
	}
	setF(&a.BackoffSeconds, m.BackoffSeconds)
	setF(&a.BackoffFactor, m.BackoffFactor)
	setF(&a.MaxLaunchDelaySeconds, m.MaxLaunchDelaySeconds)
	a.Revocable, a.DedicatedFallback = opt.DefaultRevocable, m.Revocable == nil
	if m.Revocable != nil {
		a.Revocable = *m.Revocable
	}
	if m.DedicatedFallback != nil {
		a.DedicatedFallback = *m.DedicatedFallback
	}
	for _, k := range sortedKeys(m.Env) {
		e := m.Env[k]
		if e.Secret != "" {
			w("env."+k, "secret references are not resolved by headroom; the variable is not set")
			continue
		}
		if a.Env == nil {
			a.Env = map[string]string{}
		}
		a.Env[k] = e.Value
	}
	if len(m.Labels) > 0 {
		a.Labels = make(map[string]string, len(m.Labels))
		for k, val := range m.Labels {
			a.Labels[k] = val
		}
	}
	for _, c := range m.Constraints {
		a.Constraints = append(a.Constraints, append([]string(nil), c...))
	}
	// The entries are written in headroom's JSON and read back, so this
	// does not depend on where the fetch type lives.
	var fetch []map[string]any
	for _, u := range m.URIs {
		fetch = append(fetch, map[string]any{"uri": u, "extract": isArchive(u)})
	}
	for i, f := range m.Fetch {
		extract := f.Extract != nil && *f.Extract
		if f.Cache {
			w(fmt.Sprintf("fetch[%d].cache", i), "headroom's fetcher keeps no cache; fetched on every launch")
		}
		fetch = append(fetch, map[string]any{"uri": f.URI, "extract": extract && isArchive(f.URI), "executable": f.Executable,
			"destPath": f.DestPath, "sha256": f.SHA256})
	}
	if len(fetch) > 0 {
		b, err := json.Marshal(fetch)
		if err == nil {
			err = json.Unmarshal(b, &a.Fetch)
		}
		if err != nil {
			return apps.App{}, nil, fmt.Errorf("fetch: %w", err)
		}
	}

	ports := declaredPorts(m)
	for i, p := range ports {
		if p == 0 {
			w(portPath(m, i), "0 asks for a port picked at launch; headroom allocates no ports, the task chooses its own")
		}
	}
	if len(ports) > 0 {
		w(portField(m), "headroom allocates and maps no ports: fixed numbers serve health checks' portIndex only")
	}
	for i, hc := range m.HealthChecks {
		if h, ok := healthCheck(i, hc, ports, w, v); ok {
			a.HealthChecks = append(a.HealthChecks, h)
		}
	}

	if m.Container != nil {
		c := m.Container
		if len(c.Docker) > 0 {
			w("container.docker", "headroom runs commands in cgroups, not container images; ignored")
		}
		if len(c.Volumes) > 0 && string(c.Volumes) != "[]" {
			w("container.volumes", "headroom mounts no volumes; ignored")
		}
		if len(c.PortMappings) > 0 && string(c.PortMappings) != "[]" {
			w("container.portMappings", "headroom maps no ports; ignored")
		}
		if len(c.LinuxInfo) > 0 {
			w("container.linuxInfo", "ignored")
		}
		if c.Type != "" && c.Type != "MESOS" && len(c.Docker) == 0 {
			w("container.type", "headroom runs commands in cgroups; %s ignored", c.Type)
		}
	}
	for i, n := range m.Networks {
		if n.Mode != "" && n.Mode != "host" {
			w(fmt.Sprintf("networks[%d]", i), "tasks share the host's network; mode %s ignored", n.Mode)
		}
	}
	if m.User != "" {
		w("user", "apps run as the agent's task user; ignored")
	}
	if m.GPUs != nil && *m.GPUs > 0 {
		w("gpus", "headroom offers no GPUs; ignored")
	}
	if m.Executor != "" && m.Executor != "//cmd" {
		w("executor", "headroom runs commands, not custom executors; ignored")
	}
	if len(m.StoreURLs) > 0 {
		w("storeUrls", "ignored")
	}
	if len(m.ReadinessChecks) > 0 {
		w("readinessChecks", "a task is ready when running (and healthy, with health checks); ignored")
	}
	if len(m.Dependencies) > 0 {
		w("dependencies", "apps deploy independently; ignored")
	}
	if us := m.UpgradeStrategy; us != nil {
		if (us.MinimumHealthCapacity != nil && *us.MinimumHealthCapacity != 1) || (us.MaximumOverCapacity != nil && *us.MaximumOverCapacity != 1) {
			w("upgradeStrategy", "headroom always replaces one old task per ready new one (minimumHealthCapacity 1, maximumOverCapacity 1); ignored")
		}
	}
	if roles := m.AcceptedResourceRoles; len(roles) > 0 && !(len(roles) == 1 && roles[0] == "*") {
		w("acceptedResourceRoles", "headroom has no reserved roles; revocable chooses the pool; ignored")
	}
	if m.Role != "" && m.Role != "*" {
		w("role", "apps run in headroom's own framework; ignored")
	}
	for path, raw := range map[string][]byte{"ipAddress": m.IPAddress, "residency": m.Residency, "secrets": m.Secrets, "resourceLimits": m.ResourceLimits} {
		if s := strings.TrimSpace(string(raw)); s != "" && s != "{}" {
			w(path, "ignored")
		}
	}
	if m.RequirePorts != nil && *m.RequirePorts {
		w("requirePorts", "headroom allocates no ports; ignored")
	}
	if m.TaskKillGracePeriodSeconds != nil {
		w("taskKillGracePeriodSeconds", "tasks get the agent's kill grace period; ignored")
	}
	if us := m.UnreachableStrategy; us != nil {
		if us.Disabled || (us.InactiveAfterSeconds != nil && *us.InactiveAfterSeconds != 0) {
			w("unreachableStrategy", "headroom replaces a task of an unreachable agent at once and kills the surplus if it returns; ignored")
		}
	}
	if m.KillSelection != "" && m.KillSelection != "YOUNGEST_FIRST" {
		w("killSelection", "headroom kills the youngest tasks first; %s ignored", m.KillSelection)
	}
	if m.TTY != nil && *m.TTY {
		w("tty", "ignored")
	}
	sort.Strings(warn)
	return a, warn, v.err()
}

// fieldErrors collects what cannot be converted, as Marathon's 422 lists
// it.
type fieldErrors struct{ details []apps.FieldError }

func (v *fieldErrors) add(path, msg string) {
	v.details = append(v.details, apps.FieldError{Path: path, Errors: []string{msg}})
}

func (v *fieldErrors) err() error {
	if len(v.details) == 0 {
		return nil
	}
	return &apps.ValidationError{Message: "Object is not valid", Details: v.details}
}

func setF(dst *float64, src *float64) {
	if src != nil {
		*dst = *src
	}
}

// declaredPorts are the app's port numbers: portDefinitions, else ports.
func declaredPorts(m App) []int {
	if len(m.PortDefinitions) > 0 {
		out := make([]int, len(m.PortDefinitions))
		for i, p := range m.PortDefinitions {
			out[i] = p.Port
		}
		return out
	}
	return m.Ports
}

func portField(m App) string {
	if len(m.PortDefinitions) > 0 {
		return "portDefinitions"
	}
	return "ports"
}

func portPath(m App, i int) string {
	if len(m.PortDefinitions) > 0 {
		return fmt.Sprintf("portDefinitions[%d].port", i)
	}
	return fmt.Sprintf("ports[%d]", i)
}

// healthCheck converts one check. MESOS_HTTP and MESOS_TCP are run as
// HTTP and TCP (by the master rather than the agent: same outcome for a
// process on the host's network); the port is the check's own, else the
// declared port at portIndex (default 0).
func healthCheck(i int, hc HealthCheck, ports []int, w func(string, string, ...any), v *fieldErrors) (apps.HealthCheck, bool) {
	path := fmt.Sprintf("healthChecks[%d]", i)
	proto := hc.Protocol
	if proto == "" {
		proto = ProtoHTTP
	}
	switch proto {
	case ProtoMesosHTTP:
		proto = ProtoHTTP
	case ProtoMesosTCP:
		proto = ProtoTCP
	case ProtoHTTPS, ProtoMesosHTTPS:
		w(path, "%s checks are not supported (no TLS probe); the check is dropped", proto)
		return apps.HealthCheck{}, false
	}
	h := apps.NewHealthCheck(proto)
	h.Path = hc.Path
	if hc.Command != nil {
		h.Command = &apps.CheckCommand{Value: hc.Command.Value}
	}
	setF(&h.GracePeriodSeconds, hc.GracePeriodSeconds)
	setF(&h.IntervalSeconds, hc.IntervalSeconds)
	setF(&h.TimeoutSeconds, hc.TimeoutSeconds)
	if hc.MaxConsecutiveFailures != nil {
		h.MaxConsecutiveFailures = *hc.MaxConsecutiveFailures
	}
	if hc.DelaySeconds != nil {
		w(path+".delaySeconds", "checks start with the grace period; ignored")
	}
	if hc.IgnoreHTTP1xx != nil && *hc.IgnoreHTTP1xx {
		w(path+".ignoreHttp1xx", "ignored")
	}
	if hc.IPProtocol != "" && hc.IPProtocol != "IPv4" {
		w(path+".ipProtocol", "checks use the agent's hostname; %s ignored", hc.IPProtocol)
	}
	if proto != ProtoHTTP && proto != ProtoTCP {
		return h, true
	}
	switch {
	case hc.Port != nil:
		h.Port = *hc.Port
		return h, true
	case hc.PortIndex != nil && (*hc.PortIndex < 0 || *hc.PortIndex >= len(ports)) && len(ports) > 0:
		v.add(fmt.Sprintf("/healthChecks/%d/portIndex", i), fmt.Sprintf("must be below the %d declared ports", len(ports)))
		return h, false
	}
	idx := 0
	if hc.PortIndex != nil {
		idx = *hc.PortIndex
	}
	if idx < 0 || idx >= len(ports) || ports[idx] == 0 {
		w(path, "portIndex %d has no fixed port number (headroom allocates none); set port or a fixed portDefinitions entry; the check is dropped", idx)
		return h, false
	}
	h.Port = ports[idx]
	return h, true
}

func isArchive(uri string) bool {
	u := strings.ToLower(uri)
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	for _, ext := range []string{".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz", ".zip", ".tar"} {
		if strings.HasSuffix(u, ext) {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// FromApp is the Marathon definition of a headroom app: the id with its
// leading slash and every default spelled out, so a client that sends
// back what it read changes nothing.
func FromApp(a apps.App) App {
	m := App{
		ID: "/" + a.ID, Cmd: a.Cmd, Args: append([]string(nil), a.Args...),
		Instances: ptr(a.Instances), CPUs: ptr(a.CPUs), Mem: ptr(a.Mem), Disk: ptr(a.Disk),
		BackoffSeconds: ptr(a.BackoffSeconds), BackoffFactor: ptr(a.BackoffFactor),
		MaxLaunchDelaySeconds: ptr(a.MaxLaunchDelaySeconds), Revocable: ptr(a.Revocable),
		DedicatedFallback: ptr(a.DedicatedFallback),
		Labels:            a.Labels, KillSelection: "YOUNGEST_FIRST",
		UpgradeStrategy: &UpgradeStrategy{MinimumHealthCapacity: ptr(1.0), MaximumOverCapacity: ptr(1.0)},
	}
	m.Version = a.Version
	for _, k := range sortedKeys(a.Env) {
		if m.Env == nil {
			m.Env = map[string]Env{}
		}
		m.Env[k] = Env{Value: a.Env[k]}
	}
	for _, c := range a.Constraints {
		m.Constraints = append(m.Constraints, append(Constraint(nil), c...))
	}
	for _, f := range a.Fetch {
		m.Fetch = append(m.Fetch, Fetch{URI: f.URI, Executable: f.Executable, Extract: ptr(f.Extract), DestPath: f.DestPath, SHA256: f.SHA256})
	}
	for _, h := range a.HealthChecks {
		hc := HealthCheck{
			Protocol: h.Protocol, Path: h.Path,
			GracePeriodSeconds: ptr(h.GracePeriodSeconds), IntervalSeconds: ptr(h.IntervalSeconds),
			TimeoutSeconds: ptr(h.TimeoutSeconds), MaxConsecutiveFailures: ptr(h.MaxConsecutiveFailures),
		}
		if h.Port != 0 {
			hc.Port = ptr(h.Port)
		}
		if h.Command != nil {
			hc.Command = &CheckCommand{Value: h.Command.Value}
		}
		m.HealthChecks = append(m.HealthChecks, hc)
	}
	return m
}

func ptr[T any](v T) *T { return &v }
