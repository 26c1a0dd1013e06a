package apps

import "github.com/headroom-dev/headroom/master/framework"

// The Scheduler is the apps framework as the master's cycle drives it:
// it implements framework.Framework itself, since an adapter would only
// forward every call.
var (
	_ framework.Framework         = (*Scheduler)(nil)
	_ framework.AttributesWatcher = (*Scheduler)(nil)
)

// ID is the framework id the scheduler registers as.
func (s *Scheduler) ID() string { return s.frameworkID }
