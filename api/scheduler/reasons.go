package scheduler

import "github.com/headroom-dev/headroom/api"

// ReasonLabel is the status label that carries headroom's own reason
// ("oom_killed") beside the nearest Mesos enum in reason, which is all a
// Mesos client can decode.
const ReasonLabel = "headroom_reason"

// mesosReasons maps headroom's reasons to the nearest TaskStatus.Reason
// of mesos.proto. An empty value means Mesos sets no reason for such a
// transition (a task that starts, finishes or is killed on request).
var mesosReasons = map[string]string{
	api.ReasonLaunched:          "",
	api.ReasonStarted:           "",
	api.ReasonRecovered:         "",
	api.ReasonKilledByRequest:   "",
	api.ReasonFetchFailed:       "REASON_CONTAINER_LAUNCH_FAILED",
	api.ReasonSandboxFailed:     "REASON_CONTAINER_LAUNCH_FAILED",
	api.ReasonStartFailed:       "REASON_CONTAINER_LAUNCH_FAILED",
	"launch_failed":             "REASON_CONTAINER_LAUNCH_FAILED",
	api.ReasonExited:            "REASON_COMMAND_EXECUTOR_FAILED",
	api.ReasonSignaled:          "REASON_COMMAND_EXECUTOR_FAILED",
	api.ReasonPreemptedMemory:   "REASON_CONTAINER_PREEMPTED",
	api.ReasonPreemptedCPU:      "REASON_CONTAINER_PREEMPTED",
	api.ReasonOOMKilled:         "REASON_CONTAINER_LIMITATION_MEMORY",
	api.ReasonDiskLimit:         "REASON_CONTAINER_LIMITATION_DISK",
	api.ReasonAgentRestarted:    "REASON_AGENT_RESTARTED",
	api.ReasonOrphan:            "REASON_TASK_UNKNOWN",
	api.ReasonAgentUnreachable:  "REASON_AGENT_REMOVED",
	api.ReasonAgentGone:         "REASON_AGENT_REMOVED",
	api.ReasonReconciliation:    "REASON_RECONCILIATION",
	api.ReasonExecutorTerminate: "REASON_EXECUTOR_TERMINATED",
	api.ReasonFrameworkRemoved:  "REASON_FRAMEWORK_REMOVED",
	api.ReasonInvalidOffers:     "REASON_INVALID_OFFERS",
	api.ReasonTaskInvalid:       "REASON_TASK_INVALID",
}

// MesosReason returns the Mesos enum for a headroom reason in a status
// of the given state, "" when Mesos would set none. An exit status of 0
// is no failure: a finished task carries no reason. Reasons headroom may
// add later fall back to REASON_COMMAND_EXECUTOR_FAILED on failed tasks
// and to none otherwise, so the wire never carries a name a Mesos client
// cannot decode.
func MesosReason(state, reason string) string {
	if reason == "" || state == TaskFinished || state == TaskRunning || state == TaskStarting || state == TaskStaging {
		if reason == api.ReasonReconciliation {
			return "REASON_RECONCILIATION"
		}
		return ""
	}
	if r, ok := mesosReasons[reason]; ok {
		return r
	}
	if state == TaskFailed {
		return "REASON_COMMAND_EXECUTOR_FAILED"
	}
	return ""
}

// ForMesos returns st with only Mesos names on the wire: reason mapped by
// MesosReason, headroom's own reason kept in the ReasonLabel label, and
// the uuid in base64 (EncodeUUID). reason is headroom's reason for st.
func (st TaskStatus) ForMesos(reason string) TaskStatus {
	st.Reason = MesosReason(st.State, reason)
	if reason != "" {
		labels := &Labels{}
		if st.Labels != nil {
			labels.Labels = append(labels.Labels, st.Labels.Labels...)
		}
		labels.Labels = append(labels.Labels, Label{Key: ReasonLabel, Value: reason})
		st.Labels = labels
	}
	st.UUID = EncodeUUID(st.UUID)
	return st
}
