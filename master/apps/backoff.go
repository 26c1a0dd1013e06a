package apps

import (
	"fmt"
	"math"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/master/framework"
)

// launchDelay is how long to wait before replacing a task after the given
// number of consecutive failures: BackoffSeconds*BackoffFactor^(n-1),
// capped at MaxLaunchDelaySeconds. A crash-looping app thus stops
// hammering its agents and the master, while a one-off crash is replaced
// almost at once.
func launchDelay(app App, failures int) time.Duration {
	if failures <= 0 {
		return 0
	}
	d := app.BackoffSeconds * math.Pow(app.BackoffFactor, float64(failures-1))
	if math.IsNaN(d) || math.IsInf(d, 0) || d > app.MaxLaunchDelaySeconds {
		d = app.MaxLaunchDelaySeconds
	}
	return time.Duration(d * float64(time.Second))
}

// recordFailure accounts for a task of the app that ended (or was killed
// as unhealthy) without us having asked for it. A task that had been
// healthy, or ran for more than twice the delay it was launched after,
// proves the app can work: the count starts over, so an app that crashes
// once a day is not delayed by an hour.
// fetch marks a failure of the fetcher: the reason then says so, as the
// cause a user can fix (a URI, a checksum) rather than the task's end.
func (s *Scheduler) recordFailure(st *appState, t *task, state api.TaskState, why string, fetch bool, now time.Time) {
	if t.Version != st.app.Version {
		// Old-version tasks are not replaced, so they cannot delay anything.
		return
	}
	base := time.Duration(st.app.BackoffSeconds * float64(time.Second))
	window := max(base, launchDelay(st.app, st.failures))
	ranLong := !t.StartedAt.IsZero() && now.Sub(t.StartedAt) > 2*window
	if (t.Healthy != nil && *t.Healthy) || ranLong {
		st.failures = 0
	}
	st.failures++
	st.delayUntil = now.Add(launchDelay(st.app, st.failures))
	st.lastFailure = fmt.Sprintf("task %s %s: %s", t.ID, state, why)
	st.cause = "last failure: " + st.lastFailure
	if fetch {
		st.cause = framework.FetchFailure(why)
	}
}
