package jobs

import "github.com/headroom-dev/headroom/master/framework"

// The Scheduler is the jobs framework as the master's cycle drives it:
// it implements framework.Framework itself, since an adapter would only
// forward every call. Storing the states it hands out (Unsaved, Saved)
// is the master's part, done after each Tick.
var _ framework.Framework = (*Scheduler)(nil)

// ID is the framework id the scheduler registers as.
func (s *Scheduler) ID() string { return s.frameworkID }
