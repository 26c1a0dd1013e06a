package master

import (
	"errors"
	"fmt"

	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/master/core"
)

// schedulerCall applies one call of a subscribed framework, made on the
// scheduler API (master/httpapi decodes it and answers), as
// core.SchedulerCall.
func (m *Master) schedulerCall(streamID string, c scheduler.Call) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return errNotLeading
	}
	if c.Type == scheduler.CallUpdateFramework {
		if err := validateFrameworkInfo(c.UpdateFramework.FrameworkInfo); err != nil {
			return &inputError{err: fmt.Errorf("update_framework.%w", err)}
		}
	}
	err := m.step(core.SchedulerCall{StreamID: streamID, Call: c}).Err
	if ie := (*core.InputError)(nil); errors.As(err, &ie) {
		return &inputError{err: ie.Err}
	}
	return err
}
