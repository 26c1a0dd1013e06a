package master

import (
	"context"

	"github.com/headroom-dev/headroom/internal/auth"
	"github.com/headroom-dev/headroom/master/core"
)

// Who may register and heartbeat as an agent, and subscribe as a
// framework, is decided by the core (master/core/identity.go); these are
// its names as the master's API has always used them.

// Why an agent registration is refused for who sent it: the label values
// of headroom_master_agent_registrations_refused_total.
const (
	RefusedCredential   = core.RefusedCredential
	RefusedAgentID      = core.RefusedAgentID
	RefusedSessionAlive = core.RefusedSessionAlive
)

// RegistrationRefusalReasons lists the reasons, for the metric's labels.
func RegistrationRefusalReasons() []string { return core.RegistrationRefusalReasons() }

// refusedError is a request refused for its caller's identity (403).
type refusedError = core.RefusedError

// callerOf is the identity of a request; nil on an insecure master (and
// for in-process calls), where nothing is bound.
func callerOf(ctx context.Context) *auth.Identity {
	if who, ok := auth.FromContext(ctx); ok {
		return &who
	}
	return nil
}

// checkAgentCaller refuses a heartbeat for an agent from a credential it
// is not bound to.
func (m *Master) checkAgentCaller(ctx context.Context, id string) error {
	who := callerOf(ctx)
	if who == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.core.CheckAgentCaller(who, id) // nil on a standby: no registry

}
