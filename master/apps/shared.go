package apps

import "github.com/headroom-dev/headroom/master/framework"

// The validation error and the reason texts live in master/framework,
// shared with the jobs framework. They keep their names here because the
// apps API's callers (the HTTP layer, which answers a *ValidationError
// with Marathon's 422 body, and the clients reading an app's reason) know
// them as the apps framework's.
type (
	ValidationError = framework.ValidationError
	FieldError      = framework.FieldError
)

// Reasons an app waits for; see framework.Explain.
const (
	ReasonNoAgents    = framework.ReasonNoAgents
	ReasonNoRevocable = framework.ReasonNoRevocable
	ReasonNoDedicated = framework.ReasonNoDedicated
	ReasonOfferedElse = framework.ReasonOfferedElse
	ReasonNextCycle   = framework.ReasonNextCycle
)
