package httpapi

import (
	"net/http"

	"github.com/headroom-dev/headroom/internal/auth"
)

// RedactedEnv is what a credential other than an operator's sees in place
// of each env value of an app or a job.
const RedactedEnv = "<redacted: an operator credential reads env values>"

// hideEnv is whether the caller of r must not see env values. Apps and jobs
// carry secrets in env as often as not, and reader credentials go to
// dashboards and web UIs; only an operator, who can set env anyway, reads
// it back. A master run with --insecure authenticates nobody, so everyone
// is an operator there.
func hideEnv(r *http.Request) bool {
	id, ok := auth.FromContext(r.Context())
	return ok && id.Role != auth.Operator
}

// redactEnv keeps the names of env (what an SRE needs to see that a
// variable is set) and replaces the values. It never changes env itself:
// views share maps with the master's state.
func redactEnv(env map[string]string) map[string]string {
	if len(env) == 0 {
		return env
	}
	out := make(map[string]string, len(env))
	for k := range env {
		out[k] = RedactedEnv
	}
	return out
}

// jobViewFor is the job as the caller of r may see it.
func jobViewFor(r *http.Request, v jobView) jobView {
	if hideEnv(r) {
		v.Run.Env = redactEnv(v.Run.Env)
	}
	return v
}
