package core

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/docker/go-units"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/internal/auth"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/master/allocator"
)

// epoch is the time t=0s of the scripts.
func epoch() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }

// TestScripts runs the scripts under testdata. Every command steps one
// event (or reads the state) and prints the effects the core asked for,
// the builtin frameworks' calls, and the reply or error. Commands:
//
//	new [agent-timeout=D] [gone-timeout=D] [failover=D] [retry=D] [recover-until=D]
//	    input lines: agent id=A host=H url=U | framework id=F name=N [failover=D] | dynamic host=H attrs=(k=v, ...)
//	register [id=A] host=H [url=U] [rev=R] [ded=R] [attrs=(k=v, ...)] [cred=C] [cred-agent=A] t=D
//	    input lines: task id=T fw=F state=S res=R [revocable]
//	heartbeat id=A [rev=R] [ded=R] [attrs=(k=v, ...)] t=D
//	    input lines: update task=T state=S [uuid=U] [reason=X]
//	tick t=D
//	launch task=T fw=F agent=A res=R [revocable] t=D
//	kill task=T [agent=A] [reason=X] | kill-request task=T
//	launch-failed task=T err=E t=D | kill-undelivered agent=A task=T
//	set-dynamic host=H [attrs=(k=v, ...)]
//	subscribe name=N [id=F] [failover=D] [revocable] [cred=C] stream=S t=D
//	stream-ended fw=F stream=S t=D | teardown fw=F t=D
//	call fw=F stream=S type=KILL|ACKNOWLEDGE|RECONCILE|TEARDOWN|DECLINE|ACCEPT|REVIVE|SUPPRESS [task=T] [uuid=U] [offer=O] [res=R] [role=ROLE] t=D
//	allocate t=D     the allocator's offers to external frameworks go out
//	violates task=T attr=k=v   the apps framework wants T moved off an agent with k=v
//	agents | tasks | frameworks [all] t=D   all: the built-in apps framework first
//
// R is cores/memory, e.g. 1/1GiB; D is a duration since the epoch. The
// invariants are checked after every command.
func TestScripts(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		s := &script{}
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			out, err := s.run(td)
			if err != nil {
				out += fmt.Sprintf("error: %v\n", err)
			}
			if s.c != nil {
				if err := checkInvariants(s.c); err != nil {
					t.Errorf("%s: invariant broken after %s: %v", td.Pos, td.Cmd, err)
				}
			}
			if out == "" {
				out = "ok\n"
			}
			return out
		})
	})
}

type script struct {
	c     *Core
	fws   *fakeBuiltins
	alloc *allocator.Allocator
	now   time.Time
	ids   int
}

// fakeBuiltins is a built-in apps framework that writes down what it is
// told and moves the tasks violates names.
type fakeBuiltins struct {
	log      []string
	violates map[string]string // task -> k=v
	tasks    map[string]string // task -> agent, as last reported
}

const appsID = "headroom-apps"

func (f *fakeBuiltins) Name(id string) (string, bool) { return "apps", id == appsID }

func (f *fakeBuiltins) TaskStatus(id string, st api.TaskStatus, hostname string, attrs map[string]string, _ time.Time) []string {
	f.log = append(f.log, fmt.Sprintf("apps: %s %s on %s%s", st.TaskID, st.State, hostname, fmtMap(attrs)))
	f.tasks[st.TaskID] = st.AgentID
	return nil
}

func (f *fakeBuiltins) AttributesChanged(agentID, hostname string, attrs map[string]string) []string {
	f.log = append(f.log, fmt.Sprintf("apps: attributes of %s (%s)%s", agentID, hostname, fmtMap(attrs)))
	var out []string
	for _, task := range sortedKeys(f.violates) {
		k, v, _ := strings.Cut(f.violates[task], "=")
		if f.tasks[task] == agentID && attrs[k] == v {
			out = append(out, task)
		}
	}
	return out
}

func (f *fakeBuiltins) ForgetAgent(agentID string) {
	f.log = append(f.log, "apps: forget "+agentID)
}

func (s *script) run(td *datadriven.TestData) (string, error) {
	g := args{td}
	if d, ok, err := g.dur("t"); err != nil {
		return "", err
	} else if ok {
		s.now = epoch().Add(d)
	}
	if td.Cmd == "new" {
		return "", s.newCore(g)
	}
	if s.c == nil {
		return "", fmt.Errorf("%s before new", td.Cmd)
	}
	var ev Event
	switch td.Cmd {
	case "register":
		req := agentproto.RegisterRequest{AgentID: g.str("id"), Hostname: g.str("host"), URL: g.str("url"), Attributes: g.attrs()}
		var err error
		if req.Revocable, err = g.res("rev"); err != nil {
			return "", err
		}
		if req.Dedicated, err = g.res("ded"); err != nil {
			return "", err
		}
		if req.URL == "" {
			req.URL = "http://" + req.Hostname
		}
		for _, line := range g.lines() {
			if line.cmd != "task" {
				return "", fmt.Errorf("register: input %q: want task", line.cmd)
			}
			res, err := parseRes(line.args["res"])
			if err != nil {
				return "", err
			}
			id := line.args["id"]
			_, rev := line.args["revocable"]
			req.Tasks = append(req.Tasks, agentproto.TaskReport{
				Info:   api.TaskInfo{ID: id, FrameworkID: line.args["fw"], Resources: res, Revocable: rev},
				Status: api.TaskStatus{TaskID: id, State: api.TaskState(line.args["state"]), Timestamp: s.now}})
		}
		var who *auth.Identity
		if cred := g.str("cred"); cred != "" {
			who = &auth.Identity{Credential: cred, Role: "agent", AgentID: g.str("cred-agent")}
		}
		ev = Register{Request: req, Caller: who}
	case "heartbeat":
		hb := agentproto.Heartbeat{AgentID: g.str("id"), Attributes: g.attrs()}
		var err error
		if hb.Revocable, err = g.res("rev"); err != nil {
			return "", err
		}
		if hb.Dedicated, err = g.res("ded"); err != nil {
			return "", err
		}
		for _, line := range g.lines() {
			hb.Updates = append(hb.Updates, api.TaskStatus{TaskID: line.args["task"], State: api.TaskState(line.args["state"]),
				Reason: line.args["reason"], UUID: line.args["uuid"], Timestamp: s.now})
		}
		ev = Heartbeat{Heartbeat: hb}
	case "tick":
		ev = Tick{}
	case "launch":
		res, err := g.res("res")
		if err != nil {
			return "", err
		}
		pool := allocator.Dedicated
		if g.has("revocable") {
			pool = allocator.Revocable
		}
		ev = Launch{Info: api.TaskInfo{ID: g.str("task"), FrameworkID: g.str("fw"), Cmd: "true", Resources: res}, AgentID: g.str("agent"), Pool: pool}
	case "kill":
		ev = Kill{TaskID: g.str("task"), AgentID: g.str("agent"), Reason: g.str("reason")}
	case "kill-request":
		ev = KillByRequest{TaskID: g.str("task")}
	case "launch-failed":
		t := s.c.tasks[g.str("task")]
		if t == nil {
			return "", fmt.Errorf("no task %q", g.str("task"))
		}
		ev = LaunchFailed{TaskID: t.Info.ID, AgentID: t.AgentID, FrameworkID: t.Info.FrameworkID, Err: g.str("err")}
	case "kill-undelivered":
		ev = KillUndelivered{AgentID: g.str("agent"), TaskID: g.str("task")}
	case "set-dynamic":
		ev = SetDynamic{Hostname: g.str("host"), Attributes: g.attrs()}
	case "subscribe":
		return s.subscribe(g)
	case "stream-ended":
		ev = StreamEnded{FrameworkID: g.str("fw"), StreamID: g.str("stream")}
	case "teardown":
		ev = Teardown{FrameworkID: g.str("fw")}
	case "call":
		call := scheduler.Call{FrameworkID: &scheduler.ID{Value: g.str("fw")}, Type: scheduler.CallType(g.str("type"))}
		task := scheduler.ID{Value: g.str("task")}
		switch call.Type {
		case scheduler.CallKill:
			call.Kill = &scheduler.Kill{TaskID: task}
		case scheduler.CallAcknowledge:
			call.Acknowledge = &scheduler.Acknowledge{TaskID: task, UUID: g.str("uuid")}
		case scheduler.CallReconcile:
			call.Reconcile = &scheduler.Reconcile{}
			if task.Value != "" {
				call.Reconcile.Tasks = []scheduler.ReconcileTask{{TaskID: task}}
			}
		case scheduler.CallDecline:
			call.Decline = &scheduler.Decline{OfferIDs: []scheduler.ID{{Value: g.str("offer")}}}
		case scheduler.CallRevive:
			if role := g.str("role"); role != "" {
				call.Revive = &scheduler.Roles{Roles: []string{role}}
			}
		case scheduler.CallSuppress:
			if role := g.str("role"); role != "" {
				call.Suppress = &scheduler.Roles{Roles: []string{role}}
			}
		case scheduler.CallAccept:
			res, err := g.res("res")
			if err != nil {
				return "", err
			}
			call.Accept = &scheduler.Accept{OfferIDs: []scheduler.ID{{Value: g.str("offer")}}, Operations: []scheduler.Operation{{
				Type: scheduler.OperationLaunch, Launch: &scheduler.Launch{TaskInfos: []scheduler.TaskInfo{{
					Name: task.Value, TaskID: task, Resources: scheduler.Scalars(res, g.has("revocable")),
					Command: &scheduler.CommandInfo{Value: "true"}}}}}}}
		}
		ev = SchedulerCall{StreamID: g.str("stream"), Call: call}
	case "allocate":
		ev = Allocate{}
	case "want":
		ev = WantOffers{FrameworkID: g.str("fw"), Wants: !g.has("off")}
	case "answer":
		// One launch on the accepted offer's agent, when a task is named.
		ans := AnswerOffers{FrameworkID: g.str("fw"), Accept: map[string]allocator.ByPool{}}
		if id := g.str("decline"); id != "" {
			ans.Decline = strings.Split(id, ",")
		}
		if task := g.str("task"); task != "" {
			res, err := g.res("res")
			if err != nil {
				return "", err
			}
			o, ok := s.alloc.Offer(g.str("accept"))
			if !ok {
				return "", fmt.Errorf("no offer %q", g.str("accept"))
			}
			ans.Accept[o.ID] = allocator.ByPool{allocator.Dedicated: res}
			ans.Launches = []Launch{{Info: api.TaskInfo{ID: task, FrameworkID: ans.FrameworkID, Cmd: "true", Resources: res},
				AgentID: o.AgentID, Pool: allocator.Dedicated}}
		}
		ev = ans
	case "allocation":
		a := s.c.Allocation()
		var b strings.Builder
		fmt.Fprintf(&b, "offers %d\n", a.Offers)
		for _, f := range s.c.FreeCapacity() {
			fmt.Fprintf(&b, "free %s dedicated=%s\n", f.AgentID, f.Free[allocator.Dedicated])
		}
		return b.String(), nil
	case "violates":
		s.fws.violates[g.str("task")] = g.str("attr")
		return "", nil
	case "agents":
		var b strings.Builder
		for _, a := range s.c.Agents() {
			fmt.Fprintf(&b, "agent %s host=%s %s tasks=%d%s cred=%s\n", a.ID, a.Hostname, a.State, a.Tasks, fmtMap(a.Attributes), a.Credential)
		}
		return b.String(), nil
	case "tasks":
		var b strings.Builder
		for _, t := range s.c.Tasks() {
			fmt.Fprintf(&b, "task %s fw=%s agent=%s %s", t.ID, t.FrameworkID, t.AgentID, t.State)
			if t.Reason != "" {
				fmt.Fprintf(&b, " (%s)", t.Reason)
			}
			b.WriteString("\n")
		}
		return b.String(), nil
	case "frameworks":
		var b strings.Builder
		list := s.c.Frameworks("", s.now)
		if g.has("all") {
			list = s.c.AllFrameworks(s.now)
		}
		for _, f := range list {
			builtin := ""
			if f.Builtin {
				builtin = " builtin name=" + f.Name
			}
			fmt.Fprintf(&b, "framework %s%s connected=%t tasks=%d unacked=%d offers=%d\n", f.ID, builtin, f.Connected, f.Tasks, f.Unacknowledged, f.OffersOutstanding)
		}
		return b.String(), nil
	default:
		return "", fmt.Errorf("unknown command %q", td.Cmd)
	}
	return s.step(ev), nil
}

func (s *script) newCore(g args) error {
	dur := func(key string, def time.Duration) time.Duration {
		if d, ok, _ := g.dur(key); ok {
			return d
		}
		return def
	}
	alloc, err := allocator.New(allocator.Config{OfferTimeout: time.Hour, OfferIDPrefix: "o"})
	if err != nil {
		return err
	}
	if err := alloc.AddFramework(allocator.Framework{ID: appsID, Revocable: true, Suppressed: true}); err != nil {
		return err
	}
	s.alloc, s.ids = alloc, 0
	s.fws = &fakeBuiltins{violates: map[string]string{}, tasks: map[string]string{}}
	s.now = epoch()
	var r Restore
	if d, ok, _ := g.dur("recover-until"); ok {
		r.RecoverUntil = epoch().Add(d)
	}
	for _, line := range g.lines() {
		switch line.cmd {
		case "agent":
			r.Agents = append(r.Agents, AgentRecord{ID: line.args["id"], Hostname: line.args["host"], URL: line.args["url"]})
		case "framework":
			ft, _ := time.ParseDuration(line.args["failover"])
			r.Frameworks = append(r.Frameworks, FrameworkRecord{ID: line.args["id"], Name: line.args["name"], FailoverTimeout: ft})
		case "dynamic":
			if r.Dynamic == nil {
				r.Dynamic = map[string]map[string]string{}
			}
			r.Dynamic[line.args["host"]] = parseMap(line.args["attrs"])
		default:
			return fmt.Errorf("new: input %q", line.cmd)
		}
	}
	s.c, err = New(Config{
		AgentTimeout: dur("agent-timeout", 15*time.Second), GoneTimeout: dur("gone-timeout", 10*time.Minute),
		FrameworkFailoverTimeout:   dur("failover", time.Minute),
		FrameworkHeartbeatInterval: 15 * time.Second, StatusRetryInterval: dur("retry", 10*time.Second),
		Allocator: alloc, Builtins: s.fws, Random: s.random}, r, s.now)
	return err
}

// random counts, so that ids and UUIDs read in order.
func (s *script) random(n int) string {
	s.ids++
	return fmt.Sprintf("%0*x", min(2*n, 4), s.ids)
}

func (s *script) subscribe(g args) (string, error) {
	info := scheduler.FrameworkInfo{Name: g.str("name")}
	if id := g.str("id"); id != "" {
		info.ID = &scheduler.ID{Value: id}
	}
	if d, ok, err := g.dur("failover"); err != nil {
		return "", err
	} else if ok {
		info.FailoverTimeout = d.Seconds()
	}
	if g.has("revocable") {
		info.Capabilities = []scheduler.Capability{{Type: scheduler.CapabilityRevocable}}
	}
	var who *auth.Identity
	if cred := g.str("cred"); cred != "" {
		who = &auth.Identity{Credential: cred, Role: "framework"}
	}
	rec, err := s.c.PrepareSubscribe(info, who, s.now)
	if err != nil {
		return "", err
	}
	out := fmt.Sprintf("store framework %s name=%s cred=%s\n", rec.ID, rec.Name, rec.Credential)
	return out + s.step(Subscribe{Record: rec, StreamID: g.str("stream")}), nil
}

func (s *script) step(ev Event) string {
	r := s.c.Step(ev, s.now)
	var b strings.Builder
	for _, e := range r.Persist {
		b.WriteString("persist: " + fmtEffect(e) + "\n")
	}
	for _, e := range r.Effects {
		b.WriteString(fmtEffect(e) + "\n")
	}
	for _, l := range s.fws.log {
		b.WriteString("-> " + l + "\n")
	}
	s.fws.log = nil
	if r.Reply != nil && r.Err == nil {
		if reply := fmtReply(r.Reply); reply != "" {
			b.WriteString("reply: " + reply + "\n")
		}
	}
	if r.Err != nil {
		b.WriteString(fmt.Sprintf("error: %v\n", r.Err))
	}
	return b.String()
}

// checkInvariants holds after every event.
func checkInvariants(c *Core) error {
	for id, ag := range c.agents {
		if ag.inAllocator != (ag.State == AgentActive) {
			return fmt.Errorf("agent %s: %s, in the allocator %t", id, ag.State, ag.inAllocator)
		}
	}
	for id, t := range c.tasks {
		if !t.counted {
			continue
		}
		if t.Status.State.IsTerminal() {
			return fmt.Errorf("task %s: %s but still counted", id, t.Status.State)
		}
		if ag := c.agents[t.AgentID]; ag == nil || !ag.inAllocator {
			return fmt.Errorf("task %s: counted on agent %s, which the allocator does not know", id, t.AgentID)
		}
	}
	for id, fw := range c.frameworks {
		if fw.stream == "" && fw.disconnectedAt.IsZero() {
			return fmt.Errorf("framework %s: neither connected nor disconnected", id)
		}
		if _, gone := c.removed[id]; gone {
			return fmt.Errorf("framework %s: removed but known", id)
		}
	}
	return nil
}

// args gives typed access to a command's key=value arguments.
type args struct{ td *datadriven.TestData }

func (g args) str(key string) string {
	arg, ok := g.td.Arg(key)
	if !ok || len(arg.Vals) == 0 {
		return ""
	}
	return arg.Vals[0]
}

func (g args) has(key string) bool { return g.td.HasArg(key) }

func (g args) res(key string) (resources.Resources, error) {
	v := g.str(key)
	if v == "" {
		return resources.Resources{}, nil
	}
	return parseRes(v)
}

func (g args) dur(key string) (time.Duration, bool, error) {
	v := g.str(key)
	if v == "" {
		return 0, false, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", key, err)
	}
	return d, true, nil
}

func (g args) attrs() map[string]string {
	arg, ok := g.td.Arg("attrs")
	if !ok {
		return nil
	}
	m := map[string]string{}
	for _, kv := range arg.Vals {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// line is one input line: a word and key=value arguments.
type line struct {
	cmd  string
	args map[string]string
}

func (g args) lines() []line {
	var out []line
	for _, raw := range strings.Split(strings.TrimSpace(g.td.Input), "\n") {
		f := strings.Fields(raw)
		if len(f) == 0 {
			continue
		}
		l := line{cmd: f[0], args: map[string]string{}}
		rest := strings.Join(f[1:], " ")
		// attrs=(k=v, ...) may hold spaces.
		if i := strings.Index(rest, "attrs=("); i >= 0 {
			j := strings.Index(rest[i:], ")")
			l.args["attrs"] = rest[i+len("attrs=(") : i+j]
			rest = rest[:i] + rest[i+j+1:]
		}
		for _, kv := range strings.Fields(rest) {
			k, v, _ := strings.Cut(kv, "=")
			l.args[k] = v
		}
		out = append(out, l)
	}
	return out
}

func parseMap(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if k != "" {
			m[k] = v
		}
	}
	return m
}

// parseRes reads cores/memory; "0" is nothing.
func parseRes(s string) (resources.Resources, error) {
	var r resources.Resources
	if s == "0" || s == "" {
		return r, nil
	}
	cores, mem, ok := strings.Cut(s, "/")
	if !ok {
		return r, fmt.Errorf("resources %q: want cores/memory", s)
	}
	var err error
	if r.CPUs, err = strconv.ParseFloat(cores, 64); err != nil {
		return r, fmt.Errorf("resources %q: cores: %w", s, err)
	}
	if r.MemBytes, err = units.RAMInBytes(mem); err != nil {
		return r, fmt.Errorf("resources %q: memory: %w", s, err)
	}
	return r, nil
}

func fmtMap(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return " [" + strings.Join(parts, " ") + "]"
}
