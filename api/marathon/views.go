package marathon

import (
	"strings"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/master/apps"
)

// TimeFormat is how Marathon writes times: RFC 3339 in UTC with
// milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeFormat)
}

// AppPath is an app id as Marathon writes it, with the leading slash.
func AppPath(id string) string { return "/" + apps.NormalizeID(id) }

// AppView is an app as GET /v2/apps answers: the definition with its
// counts, deployments and last failure; Tasks only when asked for
// (embed=apps.tasks, or always on GET /v2/apps/{id}).
type AppView struct {
	App
	Version         string           `json:"version,omitempty"`
	VersionInfo     *VersionInfo     `json:"versionInfo,omitempty"`
	TasksRunning    int              `json:"tasksRunning"`
	TasksStaged     int              `json:"tasksStaged"`
	TasksHealthy    int              `json:"tasksHealthy"`
	TasksUnhealthy  int              `json:"tasksUnhealthy"`
	Deployments     []DeploymentRef  `json:"deployments"`
	Tasks           []Task           `json:"tasks,omitempty"`
	LastTaskFailure *LastTaskFailure `json:"lastTaskFailure,omitempty"`
	// TasksWaiting, Reason and ReasonSince are headroom's: instances of
	// the current version without a task, and why, since when.
	TasksWaiting int       `json:"tasksWaiting"`
	Reason       string    `json:"reason,omitempty"`
	ReasonSince  time.Time `json:"reasonSince,omitzero"`
	// Warnings lists what the definition asked for that headroom
	// accepted but ignores; only on the answers to a change.
	Warnings []string `json:"warnings,omitempty"`
}

// VersionInfo says when the app last changed.
type VersionInfo struct {
	LastScalingAt      string `json:"lastScalingAt,omitempty"`
	LastConfigChangeAt string `json:"lastConfigChangeAt,omitempty"`
}

// DeploymentRef names a deployment of an app.
type DeploymentRef struct {
	ID string `json:"id"`
}

// Task is one task as Marathon shows it.
type Task struct {
	ID                 string              `json:"id"`
	AppID              string              `json:"appId"`
	Host               string              `json:"host"`
	Ports              []int               `json:"ports"`
	ServicePorts       []int               `json:"servicePorts"`
	SlaveID            string              `json:"slaveId"`
	StagedAt           string              `json:"stagedAt,omitempty"`
	StartedAt          string              `json:"startedAt,omitempty"`
	State              string              `json:"state"`
	Version            string              `json:"version"`
	HealthCheckResults []HealthCheckResult `json:"healthCheckResults,omitempty"`
	IPAddresses        []IPAddress         `json:"ipAddresses"`
	// Healthy is headroom's: nil until every health check has reported.
	Healthy *bool `json:"healthy,omitempty"`
}

// HealthCheckResult is a task's health as Marathon reports it. headroom
// keeps the verdict only, so the times are not filled in.
type HealthCheckResult struct {
	Alive               bool   `json:"alive"`
	ConsecutiveFailures int    `json:"consecutiveFailures"`
	FirstSuccess        string `json:"firstSuccess,omitempty"`
	LastFailure         string `json:"lastFailure,omitempty"`
	LastSuccess         string `json:"lastSuccess,omitempty"`
	LastFailureCause    string `json:"lastFailureCause,omitempty"`
	TaskID              string `json:"taskId"`
}

// IPAddress is one address of a task.
type IPAddress struct {
	IPAddress string `json:"ipAddress"`
	Protocol  string `json:"protocol"`
}

// LastTaskFailure is the app's most recent failed task, an object as in
// Marathon.
type LastTaskFailure struct {
	AppID     string `json:"appId"`
	Host      string `json:"host,omitempty"`
	Message   string `json:"message"`
	State     string `json:"state"`
	TaskID    string `json:"taskId,omitempty"`
	Timestamp string `json:"timestamp,omitempty"`
	Version   string `json:"version,omitempty"`
	SlaveID   string `json:"slaveId,omitempty"`
}

// TaskView is a headroom task in Marathon's shape.
func TaskView(t apps.Task, checks int) Task {
	v := Task{
		ID: t.ID, AppID: AppPath(t.AppID), Host: t.Hostname, SlaveID: t.AgentID,
		Ports: []int{}, ServicePorts: []int{}, IPAddresses: []IPAddress{},
		StagedAt: ts(t.StagedAt), StartedAt: ts(t.StartedAt), State: string(t.State), Version: t.Version,
		Healthy: t.Healthy,
	}
	if t.Healthy != nil {
		for range checks {
			v.HealthCheckResults = append(v.HealthCheckResults, HealthCheckResult{Alive: *t.Healthy, TaskID: t.ID})
		}
	}
	return v
}

// View builds an app's view. tasks is nil when they are not embedded;
// failure may be nil.
func View(st apps.AppStatus, tasks []apps.Task, failure *LastTaskFailure) AppView {
	v := AppView{
		App: FromApp(st.App), Version: st.App.Version,
		TasksRunning: st.TasksRunning, TasksStaged: st.TasksStaged,
		TasksHealthy: st.TasksHealthy, TasksUnhealthy: st.TasksUnhealthy,
		Deployments: []DeploymentRef{}, LastTaskFailure: failure,
		TasksWaiting: st.Waiting, Reason: st.Reason, ReasonSince: st.ReasonSince,
	}
	if st.App.Version != "" {
		v.VersionInfo = &VersionInfo{LastScalingAt: st.App.Version, LastConfigChangeAt: st.App.Version}
	}
	for _, d := range st.Deployments {
		v.Deployments = append(v.Deployments, DeploymentRef{ID: d})
	}
	if tasks != nil {
		v.Tasks = []Task{}
		for _, t := range tasks {
			v.Tasks = append(v.Tasks, TaskView(t, len(st.App.HealthChecks)))
		}
	}
	if failure == nil && st.LastFailure != "" {
		v.LastTaskFailure = &LastTaskFailure{AppID: AppPath(st.App.ID), Message: st.LastFailure, State: string(api.TaskFailed), Version: st.App.Version}
	}
	return v
}

// AppResponse is GET /v2/apps/{id}: {"app": ...}.
type AppResponse struct {
	App AppView `json:"app"`
}

// AppsResponse is GET /v2/apps: {"apps": [...]}.
type AppsResponse struct {
	Apps []AppView `json:"apps"`
}

// TasksResponse is GET /v2/tasks, GET /v2/apps/{id}/tasks and the answer
// to DELETE /v2/apps/{id}/tasks: {"tasks": [...]}.
type TasksResponse struct {
	Tasks []Task `json:"tasks"`
}

// TaskResponse answers DELETE /v2/apps/{id}/tasks/{taskId}.
type TaskResponse struct {
	Task Task `json:"task"`
}

// VersionsResponse is GET /v2/apps/{id}/versions.
type VersionsResponse struct {
	Versions []string `json:"versions"`
}

// DeploymentResult answers a change: PUT, DELETE, restart, scale.
type DeploymentResult struct {
	DeploymentID string `json:"deploymentId"`
	Version      string `json:"version"`
	// Warnings as in AppView; headroom's addition.
	Warnings []string `json:"warnings,omitempty"`
}

// Deployment is one entry of GET /v2/deployments.
type Deployment struct {
	ID             string   `json:"id"`
	Version        string   `json:"version"`
	AffectedApps   []string `json:"affectedApps"`
	AffectedPods   []string `json:"affectedPods"`
	Steps          []Step   `json:"steps"`
	CurrentActions []Action `json:"currentActions"`
	CurrentStep    int      `json:"currentStep"`
	TotalSteps     int      `json:"totalSteps"`
}

// Step is one step of a deployment plan.
type Step struct {
	Actions []Action `json:"actions"`
}

// Action is what a step does to an app.
type Action struct {
	Action                string   `json:"action"`
	App                   string   `json:"app"`
	ReadinessCheckResults []string `json:"readinessCheckResults"`
}

// Marathon's action names for headroom's deployment kinds.
var actionOf = map[string]string{
	"create":  "StartApplication",
	"scale":   "ScaleApplication",
	"update":  "RestartApplication",
	"restart": "RestartApplication",
}

// DeploymentView is a headroom deployment in Marathon's shape: one step
// with one action.
func DeploymentView(d apps.Deployment) Deployment {
	action := actionOf[d.Kind]
	if action == "" {
		action = "RestartApplication"
	}
	a := Action{Action: action, App: AppPath(d.AppID), ReadinessCheckResults: []string{}}
	return Deployment{
		ID: d.ID, Version: ts(d.Started), AffectedApps: []string{AppPath(d.AppID)}, AffectedPods: []string{},
		Steps: []Step{{Actions: []Action{a}}}, CurrentActions: []Action{a}, CurrentStep: 1, TotalSteps: 1,
	}
}

// QueueResponse is GET /v2/queue.
type QueueResponse struct {
	Queue []QueueItem `json:"queue"`
}

// QueueItem is an app with instances waiting to launch.
type QueueItem struct {
	Count int     `json:"count"`
	Delay Delay   `json:"delay"`
	App   AppView `json:"app"`
	Since string  `json:"since,omitempty"`
	// Reason is headroom's addition: why the instances wait.
	Reason string `json:"reason,omitempty"`
}

// Delay is the backoff an app's launches wait out.
type Delay struct {
	TimeLeftSeconds int  `json:"timeLeftSeconds"`
	Overdue         bool `json:"overdue"`
}

// QueueView is an app's launch queue entry, false when nothing waits.
func QueueView(st apps.AppStatus, now time.Time) (QueueItem, bool) {
	if st.Waiting <= 0 {
		return QueueItem{}, false
	}
	item := QueueItem{Count: st.Waiting, App: View(st, nil, nil), Since: ts(st.ReasonSince), Reason: st.Reason}
	if left := st.DelayedUntil.Sub(now); left > 0 {
		item.Delay.TimeLeftSeconds = int(left.Round(time.Second) / time.Second)
	} else {
		item.Delay.Overdue = true
	}
	return item, true
}

// Group is a node of GET /v2/groups: apps are grouped by the path of
// their ids, as Marathon does.
type Group struct {
	ID           string    `json:"id"`
	Apps         []AppView `json:"apps"`
	Groups       []Group   `json:"groups"`
	Dependencies []string  `json:"dependencies"`
	Version      string    `json:"version,omitempty"`
}

// GroupTree nests views by their id paths under the root "/".
func GroupTree(views []AppView) Group {
	root := &Group{ID: "/"}
	for _, v := range views {
		g := root
		segs := splitPath(v.ID)
		for i := range len(segs) - 1 {
			g = child(g, "/"+strings.Join(segs[:i+1], "/"))
		}
		g.Apps = append(g.Apps, v)
	}
	return finish(*root)
}

func child(g *Group, id string) *Group {
	for i := range g.Groups {
		if g.Groups[i].ID == id {
			return &g.Groups[i]
		}
	}
	g.Groups = append(g.Groups, Group{ID: id})
	return &g.Groups[len(g.Groups)-1]
}

// finish turns nil lists into empty ones: clients iterate them.
func finish(g Group) Group {
	if g.Apps == nil {
		g.Apps = []AppView{}
	}
	if g.Dependencies == nil {
		g.Dependencies = []string{}
	}
	if g.Groups == nil {
		g.Groups = []Group{}
	}
	for i := range g.Groups {
		g.Groups[i] = finish(g.Groups[i])
	}
	return g
}

// Find returns the group of the given path in the tree.
func (g Group) Find(id string) (Group, bool) {
	id = "/" + apps.NormalizeID(id)
	if g.ID == id {
		return g, true
	}
	for _, c := range g.Groups {
		if found, ok := c.Find(id); ok {
			return found, true
		}
	}
	return Group{}, false
}

func splitPath(id string) []string {
	var out []string
	for _, s := range strings.Split(apps.NormalizeID(id), "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Info is GET /v2/info, the fields Marathon clients read.
type Info struct {
	Name            string          `json:"name"`
	Version         string          `json:"version"`
	Buildref        string          `json:"buildref"`
	Elected         bool            `json:"elected"`
	Leader          string          `json:"leader"`
	FrameworkID     string          `json:"frameworkId"`
	MarathonConfig  MarathonConfig  `json:"marathon_config"`
	ZookeeperConfig map[string]any  `json:"zookeeper_config"`
	HTTPConfig      HTTPConfig      `json:"http_config"`
	EventSubscriber EventSubscriber `json:"event_subscriber"`
}

// MarathonConfig is the part of Info that describes the framework.
type MarathonConfig struct {
	Master          string  `json:"master"`
	FrameworkName   string  `json:"framework_name"`
	FailoverTimeout float64 `json:"failover_timeout"`
	HA              bool    `json:"ha"`
	Checkpoint      bool    `json:"checkpoint"`
	Hostname        string  `json:"hostname"`
	WebUIURL        string  `json:"webui_url,omitempty"`
	MesosRole       string  `json:"mesos_role"`
	MesosUser       string  `json:"mesos_user,omitempty"`
}

// HTTPConfig is the part of Info about the HTTP server.
type HTTPConfig struct {
	HTTPPort  int `json:"http_port"`
	HTTPSPort int `json:"https_port"`
}

// EventSubscriber says how events are delivered: headroom streams them
// (GET /v2/events) and has no HTTP callbacks.
type EventSubscriber struct {
	Type          string   `json:"type"`
	HTTPEndpoints []string `json:"http_endpoints"`
}

// MarathonVersion is the Marathon API version headroom answers as: the
// 1.x API these shapes follow.
const MarathonVersion = "1.10.0"

// LeaderResponse is GET /v2/leader: "host:port" of the leader.
type LeaderResponse struct {
	Leader string `json:"leader"`
}
