package marathon

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Event types of GET /v2/events, Marathon's names.
const (
	EventStreamAttached     = "event_stream_attached"
	EventAPIPost            = "api_post_event"
	EventStatusUpdate       = "status_update_event"
	EventHealthChanged      = "health_status_changed_event"
	EventDeploymentInfo     = "deployment_info"
	EventDeploymentSuccess  = "deployment_success"
	EventDeploymentFailed   = "deployment_failed"
	EventDeploymentStepDone = "deployment_step_success"
	EventAppTerminated      = "app_terminated_event"
)

// StreamAttached is the first event of a stream.
type StreamAttached struct {
	EventType     string `json:"eventType"`
	Timestamp     string `json:"timestamp"`
	RemoteAddress string `json:"remoteAddress"`
}

// APIPost is sent for each app created or changed through the API.
type APIPost struct {
	EventType     string  `json:"eventType"`
	Timestamp     string  `json:"timestamp"`
	ClientIP      string  `json:"clientIp"`
	URI           string  `json:"uri"`
	AppDefinition AppView `json:"appDefinition"`
}

// StatusUpdate is a task's new state.
type StatusUpdate struct {
	EventType   string      `json:"eventType"`
	Timestamp   string      `json:"timestamp"`
	SlaveID     string      `json:"slaveId"`
	TaskID      string      `json:"taskId"`
	TaskStatus  string      `json:"taskStatus"`
	Message     string      `json:"message"`
	AppID       string      `json:"appId"`
	Host        string      `json:"host"`
	Ports       []int       `json:"ports"`
	IPAddresses []IPAddress `json:"ipAddresses"`
	Version     string      `json:"version"`
}

// HealthChanged is a task's health verdict changing.
type HealthChanged struct {
	EventType  string `json:"eventType"`
	Timestamp  string `json:"timestamp"`
	AppID      string `json:"appId"`
	TaskID     string `json:"taskId"`
	InstanceID string `json:"instanceId"`
	Version    string `json:"version"`
	Alive      bool   `json:"alive"`
}

// DeploymentDone is deployment_success or deployment_failed.
type DeploymentDone struct {
	EventType string `json:"eventType"`
	Timestamp string `json:"timestamp"`
	ID        string `json:"id"`
}

// DeploymentInfo announces a deployment starting, with its plan.
type DeploymentInfo struct {
	EventType   string `json:"eventType"`
	Timestamp   string `json:"timestamp"`
	Plan        Plan   `json:"plan"`
	CurrentStep Step   `json:"currentStep"`
}

// Plan is a deployment's plan: its id, version and steps.
type Plan struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Steps   []Step `json:"steps"`
}

// AppTerminated is an app deleted.
type AppTerminated struct {
	EventType string `json:"eventType"`
	Timestamp string `json:"timestamp"`
	AppID     string `json:"appId"`
}

// Stamp returns t as Marathon's event timestamp.
func Stamp(t time.Time) string { return ts(t) }

// WriteSSE writes one server-sent event: the type in "event:" and the
// payload as one "data:" line (JSON never holds a raw newline).
func WriteSSE(w io.Writer, eventType string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encoding a %s event: %w", eventType, err)
	}
	if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", eventType, b); err != nil {
		return fmt.Errorf("writing a %s event: %w", eventType, err)
	}
	return nil
}
