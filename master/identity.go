package master

import (
	"context"
	"fmt"
	"time"

	"github.com/headroom-dev/headroom/internal/auth"
)

// Why an agent registration is refused for who sent it: the label values
// of headroom_master_agent_registrations_refused_total.
const (
	// RefusedCredential: the agent id is bound to another credential.
	RefusedCredential = "credential_mismatch"
	// RefusedAgentID: a per-agent credential asked for another agent id.
	RefusedAgentID = "agent_id_mismatch"
	// RefusedSessionAlive: the same credential registered the id from
	// another URL while the agent there still heartbeats.
	RefusedSessionAlive = "session_alive"
)

// RegistrationRefusalReasons lists the reasons, for the metric's labels.
func RegistrationRefusalReasons() []string {
	return []string{RefusedCredential, RefusedAgentID, RefusedSessionAlive}
}

// refusedError is a request refused for its caller's identity (403).
type refusedError struct {
	reason string
	msg    string
}

func (e *refusedError) Error() string { return e.msg }

// caller is the identity of a request; ok is false on an insecure master
// (and for in-process calls), where nothing is bound.
func caller(ctx context.Context) (auth.Identity, bool) {
	return auth.FromContext(ctx)
}

// registrationID is the id an agent registers as: the one it brings, or
// for a per-agent credential the credential's (which it must match).
func (m *Master) registrationID(ctx context.Context, asked, hostname string) (string, error) {
	who, ok := caller(ctx)
	if ok && who.AgentID != "" {
		if asked != "" && asked != who.AgentID {
			return "", m.refuseRegistration(asked, RefusedAgentID, who, "",
				fmt.Sprintf("credential %q may only register agent %q, not %q", who.Credential, who.AgentID, asked))
		}
		return who.AgentID, nil
	}
	if asked == "" {
		return newAgentID(hostname), nil
	}
	return asked, nil
}

// checkReregistration decides whether a known agent id may register
// again, and returns the credential to bind it to. Called with mu held.
//
// Another credential never takes over an id. The same credential (the
// shared agent credential of generated defaults, or no credential on an
// insecure master) may move the id to another URL only once the agent at
// the old one has been silent for the agent timeout: until then it is
// alive, its tasks are running, and taking them as lost would start
// copies elsewhere.
func (m *Master) checkReregistration(ctx context.Context, ag *agentEntry, url string, now time.Time) (string, error) {
	who, ok := caller(ctx)
	if !ok {
		// Insecure: everyone is the same caller; the URL check still holds.
		return ag.Credential, m.checkSessionAlive(ag, who, url, now)
	}
	if ag.Credential != "" && ag.Credential != who.Credential {
		return "", m.refuseRegistration(ag.ID, RefusedCredential, who, ag.Credential,
			fmt.Sprintf("agent %q is bound to the credential that first registered it; credential %q may not register it", ag.ID, who.Credential))
	}
	if err := m.checkSessionAlive(ag, who, url, now); err != nil {
		return "", err
	}
	return who.Credential, nil
}

func (m *Master) checkSessionAlive(ag *agentEntry, who auth.Identity, url string, now time.Time) error {
	if ag.State != AgentActive || ag.URL == url {
		return nil
	}
	silent := now.Sub(ag.LastSeen)
	if silent >= m.cfg.AgentTimeout {
		return nil
	}
	return m.refuseRegistration(ag.ID, RefusedSessionAlive, who, ag.Credential,
		fmt.Sprintf("agent %q is alive at %s (last heartbeat %s ago); a registration from %s is refused until it has been silent for %s",
			ag.ID, ag.URL, silent.Round(time.Millisecond), url, m.cfg.AgentTimeout))
}

// refuseRegistration logs and counts a refused registration.
func (m *Master) refuseRegistration(id, reason string, who auth.Identity, boundTo, msg string) error {
	m.log.Warn("agent registration refused", "agent", id, "reason", reason,
		"credential", who.Credential, "role", who.Role, "bound_to", boundTo, "detail", msg)
	m.cfg.Metrics.AgentRegistrationRefused(reason)
	return &refusedError{reason: reason, msg: msg}
}

// checkAgentCaller refuses a heartbeat for an agent from a credential it
// is not bound to.
func (m *Master) checkAgentCaller(ctx context.Context, id string) error {
	who, ok := caller(ctx)
	if !ok {
		return nil
	}
	if who.AgentID != "" && who.AgentID != id {
		return &refusedError{reason: RefusedAgentID, msg: fmt.Sprintf("credential %q may only act as agent %q, not %q", who.Credential, who.AgentID, id)}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if ag, known := m.agents[id]; known && ag.Credential != "" && ag.Credential != who.Credential {
		m.log.Warn("agent heartbeat refused: another credential", "agent", id, "credential", who.Credential, "bound_to", ag.Credential)
		return &refusedError{reason: RefusedCredential, msg: fmt.Sprintf("agent %q is bound to another credential than %q", id, who.Credential)}
	}
	return nil
}

// bindFramework binds a subscription to its caller's credential: a
// framework id first subscribed by one credential may not be taken over
// (its offers, tasks and updates) by another. Called with mu held.
func (m *Master) bindFramework(ctx context.Context, rec *frameworkRecord) error {
	who, ok := caller(ctx)
	if !ok {
		return nil
	}
	if rec.Credential != "" && rec.Credential != who.Credential {
		m.log.Warn("framework subscription refused: another credential", "framework", rec.ID,
			"credential", who.Credential, "bound_to", rec.Credential)
		return &refusedError{reason: RefusedCredential,
			msg: fmt.Sprintf("framework %q is bound to the credential that first subscribed it; credential %q may not subscribe as it", rec.ID, who.Credential)}
	}
	rec.Credential = who.Credential
	return nil
}
