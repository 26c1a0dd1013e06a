package httpapi

import (
	"errors"

	"github.com/headroom-dev/headroom/api/marathon"
	"github.com/headroom-dev/headroom/master/apps"
	"github.com/headroom-dev/headroom/master/marathonapi"
)

// marathonRoutes serves Marathon's API for the apps framework: errors are
// answered as on every other route, env values hidden from whoever may not
// read them.
func (s *server) marathonRoutes(mux *routeMux) {
	marathonapi.New(s.b, marathonapi.Config{
		Clock:        s.cfg.Clock,
		Log:          s.cfg.Logger,
		WriteError:   s.writeErr,
		NotFound:     func(err error) bool { return errors.Is(err, apps.ErrNotFound) || s.b.ErrorKind(err) == NotFound },
		Options:      marathon.Options{DefaultRevocable: true},
		AdvertiseURL: s.cfg.Self,
		Leader:       s.cfg.Leader,
		FrameworkID:  s.cfg.AppsFrameworkID,
		HideEnv:      hideEnv,
		Redacted:     RedactedEnv,
	}).Register(mux)
}
