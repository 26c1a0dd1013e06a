package core

import (
	"fmt"
	"regexp"
	"strings"
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

// registrationID is the id an agent registers as: the one it brings, or
// for a per-agent credential the credential's (which it must match).
func (c *Core) registrationID(who *auth.Identity, asked, hostname string) (string, error) {
	if who != nil && who.AgentID != "" {
		if asked != "" && asked != who.AgentID {
			return "", c.refuseRegistration(asked, RefusedAgentID, who, "",
				fmt.Sprintf("credential %q may only register agent %q, not %q", who.Credential, who.AgentID, asked))
		}
		return who.AgentID, nil
	}
	if asked == "" {
		return c.newID(hostname, "agent", 4), nil
	}
	return asked, nil
}

// checkReregistration decides whether a known agent id may register
// again, and returns the credential to bind it to.
//
// Another credential never takes over an id. The same credential (the
// shared agent credential of generated defaults, or no credential on an
// insecure master) may move the id to another URL only once the agent at
// the old one has been silent for the agent timeout: until then it is
// alive, its tasks are running, and taking them as lost would start
// copies elsewhere.
func (c *Core) checkReregistration(who *auth.Identity, ag *agent, url string, now time.Time) (string, error) {
	if who == nil {
		// Insecure: everyone is the same caller; the URL check still holds.
		return ag.Credential, c.checkSessionAlive(ag, &auth.Identity{}, url, now)
	}
	if ag.Credential != "" && ag.Credential != who.Credential {
		return "", c.refuseRegistration(ag.ID, RefusedCredential, who, ag.Credential,
			fmt.Sprintf("agent %q is bound to the credential that first registered it; credential %q may not register it", ag.ID, who.Credential))
	}
	if err := c.checkSessionAlive(ag, who, url, now); err != nil {
		return "", err
	}
	return who.Credential, nil
}

func (c *Core) checkSessionAlive(ag *agent, who *auth.Identity, url string, now time.Time) error {
	if ag.State != AgentActive || ag.URL == url {
		return nil
	}
	silent := now.Sub(ag.LastSeen)
	if silent >= c.cfg.AgentTimeout {
		return nil
	}
	return c.refuseRegistration(ag.ID, RefusedSessionAlive, who, ag.Credential,
		fmt.Sprintf("agent %q is alive at %s (last heartbeat %s ago); a registration from %s is refused until it has been silent for %s",
			ag.ID, ag.URL, silent.Round(time.Millisecond), url, c.cfg.AgentTimeout))
}

// refuseRegistration logs and counts a refused registration.
func (c *Core) refuseRegistration(id, reason string, who *auth.Identity, boundTo, msg string) error {
	c.log.Warn("agent registration refused", "agent", id, "reason", reason,
		"credential", who.Credential, "role", who.Role, "bound_to", boundTo, "detail", msg)
	c.emit(RegistrationRefused{Reason: reason})
	return &RefusedError{Reason: reason, Msg: msg}
}

// CheckAgentCaller refuses a heartbeat for an agent from a credential it
// is not bound to; who is nil on an insecure master. A nil Core (a
// standby's) knows no agent and checks the credential's own agent only.
func (c *Core) CheckAgentCaller(who *auth.Identity, id string) error {
	if who == nil {
		return nil
	}
	if who.AgentID != "" && who.AgentID != id {
		return &RefusedError{Reason: RefusedAgentID, Msg: fmt.Sprintf("credential %q may only act as agent %q, not %q", who.Credential, who.AgentID, id)}
	}
	if c == nil {
		return nil
	}
	if ag, known := c.agents[id]; known && ag.Credential != "" && ag.Credential != who.Credential {
		c.log.Warn("agent heartbeat refused: another credential", "agent", id, "credential", who.Credential, "bound_to", ag.Credential)
		return &RefusedError{Reason: RefusedCredential, Msg: fmt.Sprintf("agent %q is bound to another credential than %q", id, who.Credential)}
	}
	return nil
}

// bindFramework binds a subscription to its caller's credential: a
// framework id first subscribed by one credential may not be taken over
// (its offers, tasks and updates) by another.
func (c *Core) bindFramework(who *auth.Identity, rec *FrameworkRecord) error {
	if who == nil {
		return nil
	}
	if rec.Credential != "" && rec.Credential != who.Credential {
		c.log.Warn("framework subscription refused: another credential", "framework", rec.ID,
			"credential", who.Credential, "bound_to", rec.Credential)
		return &RefusedError{Reason: RefusedCredential,
			Msg: fmt.Sprintf("framework %q is bound to the credential that first subscribed it; credential %q may not subscribe as it", rec.ID, who.Credential)}
	}
	rec.Credential = who.Credential
	return nil
}

var unsafeIDChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// newID makes an id from a name (readable in the API and logs) and a
// random suffix of n bytes (two hosts may share a name).
func (c *Core) newID(name, fallback string, n int) string {
	base := strings.Trim(unsafeIDChars.ReplaceAllString(name, "-"), "-._")
	if base == "" {
		base = fallback
	}
	if len(base) > 60 {
		base = base[:60]
	}
	return base + "-" + c.cfg.Random(n)
}
