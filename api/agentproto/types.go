package agentproto

import (
	"fmt"
	"regexp"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/resources"
)

// idRE is api's id charset; registrations and heartbeats check it alone
// (as they always have), tasks add the ".." rule of api.ValidID.
var idRE = regexp.MustCompile(api.IDPattern)

// Estimate is the monitor's view that an agent reports with each heartbeat,
// for the operators' API and the master's metrics.
type Estimate struct {
	HarvestableCPUs     float64 `json:"harvestable_cpus"`
	HarvestableMemBytes int64   `json:"harvestable_mem_bytes"`
	CPUReason           string  `json:"cpu_reason"`
	MemReason           string  `json:"mem_reason"`
	Degraded            bool    `json:"degraded,omitempty"`
	// BusinessCPUs and BusinessMemBytes are the predicted business peaks
	// (margin included) the harvest is computed against, for the master's
	// history and its charts.
	BusinessCPUs     float64 `json:"business_cpus,omitempty"`
	BusinessMemBytes int64   `json:"business_mem_bytes,omitempty"`
}

// RegisterRequest is POST /api/v1/agents/register. AgentID is empty on an
// agent's first contact; afterwards the agent keeps the id the master gave
// it (in its work dir) and sends it when re-registering.
type RegisterRequest struct {
	AgentID    string         `json:"agent_id,omitempty"`
	Hostname   string         `json:"hostname"`
	URL        string         `json:"url"`
	Version    string         `json:"version,omitempty"`
	Attributes api.Attributes `json:"attributes,omitempty"`
	// Revocable is the harvested pool (changes with every estimate);
	// Dedicated the static non-revocable pool (--dedicated).
	Revocable resources.Resources `json:"revocable"`
	Dedicated resources.Resources `json:"dedicated"`
	// Tasks are the tasks the agent knows now, with what they asked for:
	// after a master failover they are the truth the new leader rebuilds
	// its state (and the allocator's usage) from.
	Tasks []TaskReport `json:"tasks,omitempty"`
}

// TaskReport is a task as an agent reports it when registering.
type TaskReport struct {
	Info   api.TaskInfo   `json:"info"`
	Status api.TaskStatus `json:"status"`
}

// RegisterResponse tells the agent its id and how often to heartbeat.
type RegisterResponse struct {
	AgentID                  string            `json:"agent_id"`
	HeartbeatIntervalSeconds float64           `json:"heartbeat_interval_seconds"`
	Attributes               map[string]string `json:"attributes,omitempty"`
}

// Heartbeat is POST /api/v1/agents/{id}/heartbeat.
type Heartbeat struct {
	AgentID   string              `json:"agent_id"`
	Revocable resources.Resources `json:"revocable"`
	Dedicated resources.Resources `json:"dedicated"`
	// Used is what the agent's tasks use now.
	Used     resources.Resources `json:"used"`
	Estimate Estimate            `json:"estimate"`
	// Updates are the task status updates not yet acknowledged.
	Updates []api.TaskStatus `json:"updates,omitempty"`
	// Attributes are the agent's own (static) attributes, so that a local
	// change reaches the master without a re-registration; the master adds
	// the dynamic ones it keeps in etcd and answers with the result.
	Attributes api.Attributes `json:"attributes,omitempty"`
	// Override is the mode of the operator's reservation override when
	// one applies ("cap", "fixed"): then it, not the estimate, sets the
	// revocable pool (the history's reason for its changes).
	Override string `json:"override,omitempty"`
}

// HeartbeatResponse acknowledges updates and carries the master's orders.
type HeartbeatResponse struct {
	// Acks are the UUIDs of the updates the master has recorded.
	Acks []string `json:"acks,omitempty"`
	// Attributes, when not nil, replace the agent's dynamic attributes.
	Attributes map[string]string `json:"attributes,omitempty"`
	// Kill lists tasks the master does not know (orphans after a failover
	// past their framework's timeout).
	Kill []string `json:"kill,omitempty"`
	// Reregister asks the agent to register again (the master lost it).
	Reregister bool `json:"reregister,omitempty"`
}

// KillRequest is POST /api/v1/tasks/{id}/kill on an agent.
type KillRequest struct {
	Reason             string  `json:"reason,omitempty"`
	Message            string  `json:"message,omitempty"`
	GracePeriodSeconds float64 `json:"grace_period_seconds,omitempty"`
}

// CheckRequest is POST /api/v1/tasks/{id}/check on an agent: run a
// COMMAND health check in the task's sandbox and cgroup.
type CheckRequest struct {
	Command        string  `json:"command"`
	TimeoutSeconds float64 `json:"timeout_seconds"`
}

// CheckResult answers a check that ran: healthy is exit code 0. A check
// killed at its timeout is unhealthy with exit code -1.
type CheckResult struct {
	Healthy  bool   `json:"healthy"`
	ExitCode int    `json:"exit_code"`
	Output   string `json:"output"`
}

// hostnameRE accepts DNS names and IP addresses; anything else in a
// hostname is a mistake or an attack on the labels built from it.
var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.:_-]{0,252})$`)

// attributeKeyRE is the attribute key charset, as for Prometheus labels.
var attributeKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,62}$`)

// ValidateAttributes checks attribute keys and values; errors name the key.
func ValidateAttributes(attrs map[string]string) error {
	if len(attrs) > 64 {
		return fmt.Errorf("attributes: at most 64, got %d", len(attrs))
	}
	for k, v := range attrs {
		if !attributeKeyRE.MatchString(k) {
			return fmt.Errorf("attributes[%q]: key must match %s", k, attributeKeyRE)
		}
		if len(v) > 256 {
			return fmt.Errorf("attributes[%q]: value longer than 256 bytes", k)
		}
	}
	return nil
}

// Validate checks a registration; errors name the field.
func (r RegisterRequest) Validate() error {
	if r.AgentID != "" && !idRE.MatchString(r.AgentID) {
		return fmt.Errorf("agent_id: must match %s, got %q", idRE, r.AgentID)
	}
	if !hostnameRE.MatchString(r.Hostname) {
		return fmt.Errorf("hostname: must be a DNS name or an IP address, got %q", r.Hostname)
	}
	if r.URL == "" {
		return fmt.Errorf("url: required")
	}
	if err := ValidateAttributes(r.Attributes); err != nil {
		return err
	}
	if err := r.Revocable.Validate(); err != nil {
		return fmt.Errorf("revocable.%w", err)
	}
	if err := r.Dedicated.Validate(); err != nil {
		return fmt.Errorf("dedicated.%w", err)
	}
	return nil
}

// Validate checks a heartbeat; errors name the field.
func (h Heartbeat) Validate() error {
	if !idRE.MatchString(h.AgentID) {
		return fmt.Errorf("agent_id: must match %s, got %q", idRE, h.AgentID)
	}
	if err := ValidateAttributes(h.Attributes); err != nil {
		return err
	}
	for name, r := range map[string]resources.Resources{"revocable": h.Revocable, "dedicated": h.Dedicated, "used": h.Used} {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("%s.%w", name, err)
		}
	}
	return nil
}

// HeartbeatInterval converts the response's seconds, with a floor so a
// bad master answer cannot make an agent spin.
func (r RegisterResponse) HeartbeatInterval() time.Duration {
	d := time.Duration(r.HeartbeatIntervalSeconds * float64(time.Second))
	return max(d, 100*time.Millisecond)
}
