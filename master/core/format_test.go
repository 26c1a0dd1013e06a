package core

import (
	"fmt"
	"strings"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/api/scheduler"
)

// fmtEffect prints an effect on one line, for the scripts.
func fmtEffect(e Effect) string {
	switch e := e.(type) {
	case PersistAgent:
		r := e.Record
		return fmt.Sprintf("store agent %s host=%s url=%s%s cred=%s", r.ID, r.Hostname, r.URL, fmtMap(r.Attributes), r.Credential)
	case DeleteAgent:
		return "delete agent " + e.ID
	case DeleteFramework:
		return "delete framework " + e.ID
	case PersistFramework:
		r := e.Record
		return fmt.Sprintf("store framework %s name=%s role=%s revocable=%t", r.ID, r.Name, r.Role, r.Revocable)
	case LaunchTask:
		return fmt.Sprintf("call %s launch %s fw=%s revocable=%t", e.AgentID, e.Info.ID, e.Info.FrameworkID, e.Info.Revocable)
	case KillTask:
		return fmt.Sprintf("call %s kill %s reason=%s", e.AgentID, e.TaskID, e.Reason)
	case SendEvent:
		return fmt.Sprintf("send %s@%s %s", e.FrameworkID, e.StreamID, fmtEvent(e.Event))
	case EndStream:
		if e.Message == "" {
			return "end stream " + e.StreamID
		}
		return fmt.Sprintf("end stream %s: %s", e.StreamID, e.Message)
	case TaskLaunched:
		return "metric launched fw=" + e.FrameworkID
	case TaskEnded:
		return fmt.Sprintf("metric ended fw=%s state=%s reason=%s", e.FrameworkID, e.State, e.Reason)
	case RegistrationRefused:
		return "metric registration refused reason=" + e.Reason
	case Count:
		if e.Key != "" {
			return fmt.Sprintf("count %s[%s] +%d", e.Counter, e.Key, e.N)
		}
		return fmt.Sprintf("count %s +%d", e.Counter, e.N)
	}
	return fmt.Sprintf("%T %+v", e, e)
}

func fmtEvent(ev scheduler.Event) string {
	switch {
	case ev.Subscribed != nil:
		return fmt.Sprintf("SUBSCRIBED id=%s", ev.Subscribed.FrameworkID.Value)
	case ev.Update != nil:
		st := ev.Update.Status
		s := fmt.Sprintf("UPDATE %s %s source=%s reason=%s uuid=%s", st.TaskID.Value, st.State, st.Source, st.Reason, st.UUID)
		if st.Message != "" {
			s += fmt.Sprintf(" %q", st.Message)
		}
		return s
	case ev.Rescind != nil:
		return "RESCIND " + ev.Rescind.OfferID.Value
	case ev.Offers != nil:
		var ids []string
		for _, o := range ev.Offers.Offers {
			ids = append(ids, fmt.Sprintf("%s@%s", o.ID.Value, o.AgentID.Value))
		}
		return "OFFERS " + strings.Join(ids, " ")
	}
	return string(ev.Type)
}

func fmtReply(r any) string {
	switch r := r.(type) {
	case RegisterReply:
		return fmt.Sprintf("registered %s known=%t%s", r.ID, r.Known, fmtMap(r.Attributes))
	case agentproto.HeartbeatResponse:
		s := "heartbeat"
		if r.Reregister {
			s += " reregister"
		}
		if len(r.Acks) > 0 {
			s += " acks=" + strings.Join(r.Acks, ",")
		}
		if len(r.Kill) > 0 {
			s += " kill=" + strings.Join(r.Kill, ",")
		}
		if r.Attributes != nil {
			s += " attrs" + fmtMap(r.Attributes)
		}
		return s
	case AllocateReply:
		var offers []string
		for _, o := range r.Builtin {
			offers = append(offers, o.ID+"@"+o.AgentID+" fw="+o.FrameworkID)
		}
		return strings.Join(offers, " ") // nothing to say without offers to built-in frameworks
	case AnswerReply:
		return fmt.Sprintf("declined %d", r.Declined)
	case TickReply:
		if r.Recovering {
			return "recovering"
		}
		return "" // nothing to say
	}
	return fmt.Sprintf("%+v", r)
}
