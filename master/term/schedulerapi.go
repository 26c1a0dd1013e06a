package term

import (
	"errors"
	"fmt"

	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/master/core"
)

// SchedulerCall applies one call of a subscribed framework, made on the
// scheduler API (master/httpapi decodes it and answers), as
// core.SchedulerCall.
func (t *Term) SchedulerCall(streamID string, c scheduler.Call) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.leading {
		return errNotLeading
	}
	if c.Type == scheduler.CallUpdateFramework {
		if err := validateFrameworkInfo(c.UpdateFramework.FrameworkInfo); err != nil {
			return &inputError{err: fmt.Errorf("update_framework.%w", err)}
		}
	}
	err := t.step(core.SchedulerCall{StreamID: streamID, Call: c}).Err
	if ie := (*core.InputError)(nil); errors.As(err, &ie) {
		return &inputError{err: ie.Err}
	}
	return err
}
