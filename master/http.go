package master

import (
	"net/http"

	"github.com/headroom-dev/headroom/master/httpapi"
)

// Handler serves the master's API (master/httpapi lists its routes), with
// metrics on GET /metrics. A standby answers every call but /metrics,
// /healthz and /api/v1/leader with a 307 to the leader, so clients
// configured with any master reach the right one.
func (m *Master) Handler(metrics http.Handler) http.Handler {
	h, _ := m.routes(metrics)
	return h
}

// routes builds the handler on m and lists the patterns it routes.
func (m *Master) routes(metrics http.Handler) (http.Handler, []string) {
	return httpapi.New(httpapi.Config{
		Backend:     backend{m},
		Metrics:     metrics,
		Self:        m.cfg.AdvertiseURL,
		Leader:      m.knownLeader,
		Credentials: m.cfg.Credentials,
		Clock:       m.cfg.Clock,
		Logger:      m.log,
		// The apps framework's id, as Marathon clients read it in /v2/info.
		AppsFrameworkID: AppsFrameworkID,
	})
}
