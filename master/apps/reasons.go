package apps

import (
	"sort"
	"time"

	"github.com/headroom-dev/headroom/master/framework"
)

// reasonAt keeps a reason with the time it was first given, so the API's
// "since" says how long the same cause has held.
type reasonAt struct {
	text  string
	since time.Time
}

func (r *reasonAt) set(text string, now time.Time) {
	if text != r.text {
		r.text, r.since = text, now
	}
	if text == "" {
		r.since = time.Time{}
	}
}

// sortOffers orders capacity views by agent id, so that framework.Explain names the
// same agent for the same state.
func sortOffers(os []framework.Offer) {
	sort.Slice(os, func(i, j int) bool { return os[i].AgentID < os[j].AgentID })
}
