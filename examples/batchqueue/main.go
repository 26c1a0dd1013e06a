package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/internal/resources"
)

type config struct {
	masters, token, name, role string
	revocable                  bool
	cpus, memMB                float64
	refuse                     time.Duration
	failover                   time.Duration
	maxAttempts                int
	report                     string
	commands                   []string
	timeout                    time.Duration
	// progress is how often it says it is waiting for offers.
	progress time.Duration
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "batchqueue:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.timeout)
		defer cancel()
	}
	q := newQueue(cfg, log)
	runErr := q.run(ctx)
	if cfg.report != "" {
		if err := q.writeReport(cfg.report); err != nil {
			log.Error("writing the report", "err", err)
		}
	}
	switch {
	case runErr == nil:
	case errors.Is(runErr, context.Canceled):
		// Ctrl-C or SIGTERM: what the user asked for, not a failure.
		log.Info("stopped by signal; the master keeps this framework's tasks until its failover timeout",
			"framework", q.frameworkID(), "failover_timeout", cfg.failover)
	default:
		log.Error("batch queue stopped", "err", runErr)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("batchqueue", flag.ContinueOnError)
	fs.StringVar(&cfg.masters, "master", "http://127.0.0.1:5050", "comma-separated master URLs")
	tokenFile := fs.String("token-file", "", "file holding the masters' bearer token")
	fs.StringVar(&cfg.name, "name", "batchqueue", "framework name")
	fs.StringVar(&cfg.role, "role", "*", "framework role")
	fs.BoolVar(&cfg.revocable, "revocable", true, "run on harvested (revocable) capacity; false: dedicated capacity only")
	fs.Float64Var(&cfg.cpus, "cpus", 0.1, "cores per command")
	fs.Float64Var(&cfg.memMB, "mem", 32, "memory per command, MB")
	fs.DurationVar(&cfg.refuse, "refuse", 30*time.Second, "filter installed when declining offers it has no use for")
	fs.DurationVar(&cfg.failover, "failover-timeout", 5*time.Minute, "how long the master keeps the tasks while this framework is away")
	fs.IntVar(&cfg.maxAttempts, "max-attempts", 3, "launches of a command before it counts as failed")
	fs.StringVar(&cfg.report, "report", "", "write a JSON report of what happened to this file at exit")
	fs.DurationVar(&cfg.timeout, "timeout", 0, "give up after this long (0: never)")
	fs.DurationVar(&cfg.progress, "progress", 10*time.Second, "while commands wait and no offer comes, say so this often, with what the master reports")
	count := fs.Int("count", 0, "run --command this many times ($TASK_INDEX tells them apart)")
	command := fs.String("command", "", "the command for --count")
	file := fs.String("commands", "", "file with one command per line")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return cfg, fmt.Errorf("--token-file: %w", err)
		}
		cfg.token = strings.TrimSpace(string(b))
	}
	for i := range *count {
		cfg.commands = append(cfg.commands, "TASK_INDEX="+strconv.Itoa(i)+"; "+*command)
	}
	if *count > 0 && *command == "" {
		return cfg, errors.New("--count needs --command")
	}
	if *file != "" {
		f, err := os.Open(*file)
		if err != nil {
			return cfg, fmt.Errorf("--commands: %w", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
				cfg.commands = append(cfg.commands, line)
			}
		}
		if err := sc.Err(); err != nil {
			return cfg, fmt.Errorf("--commands: %w", err)
		}
	}
	cfg.commands = append(cfg.commands, fs.Args()...)
	switch {
	case len(cfg.commands) == 0:
		return cfg, errors.New("no commands: give --count/--command, --commands FILE or commands as arguments")
	case cfg.cpus <= 0 || cfg.memMB <= 0:
		return cfg, errors.New("--cpus and --mem must be > 0")
	case cfg.maxAttempts < 1:
		return cfg, errors.New("--max-attempts must be >= 1")
	case cfg.progress <= 0:
		return cfg, errors.New("--progress must be > 0")
	}
	return cfg, nil
}

// task is one command and where it is.
type task struct {
	Index    int    `json:"index"`
	ID       string `json:"id"` // of the current attempt
	Agent    string `json:"agent,omitempty"`
	Host     string `json:"hostname,omitempty"`
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	Message  string `json:"message,omitempty"`
}

// offerRecord and declineRecord let a reader check the filters held.
type offerRecord struct {
	Subscription int       `json:"subscription"`
	Agent        string    `json:"agent"`
	At           time.Time `json:"at"`
}

type declineRecord struct {
	Subscription  int       `json:"subscription"`
	Agent         string    `json:"agent"`
	At            time.Time `json:"at"`
	RefuseSeconds float64   `json:"refuse_seconds"`
}

// report is what --report writes.
type report struct {
	FrameworkID     string          `json:"framework_id"`
	Subscriptions   int             `json:"subscriptions"`
	Reconciliations int             `json:"reconciliations"`
	TornDown        bool            `json:"torn_down"`
	Tasks           []*task         `json:"tasks"`
	Offers          []offerRecord   `json:"offers"`
	Declines        []declineRecord `json:"declines"`
	// Revives clear the filters: an offer after one is no violation.
	Revives []time.Time `json:"revives,omitempty"`
}

type queue struct {
	cfg    config
	log    *slog.Logger
	client *scheduler.Client
	rep    report
	// pending are indexes of commands waiting for an offer.
	pending []int
	byID    map[string]*task
	// revive is set when a command returns to the queue: the offers
	// declined with a filter meanwhile are wanted again.
	revive bool
	// api reads the master's view when no offer comes.
	api *agentproto.Client
	// lastOffer (unix ns), waiting (commands pending) and fwID are shared
	// with the progress reporter, which runs beside the event loop.
	lastOffer atomic.Int64
	waiting   atomic.Int64
	fwID      atomic.Value
}

func (q *queue) frameworkID() string {
	id, _ := q.fwID.Load().(string)
	return id
}

func newQueue(cfg config, log *slog.Logger) *queue {
	q := &queue{cfg: cfg, log: log, byID: map[string]*task{}}
	for i := range cfg.commands {
		q.rep.Tasks = append(q.rep.Tasks, &task{Index: i, State: "PENDING"})
		q.pending = append(q.pending, i)
	}
	return q
}

func (q *queue) done() bool {
	for _, t := range q.rep.Tasks {
		if t.State != scheduler.TaskFinished && t.State != "FAILED_PERMANENTLY" {
			return false
		}
	}
	return true
}

// run subscribes, and subscribes again whenever the stream ends, until
// every command has finished.
func (q *queue) run(ctx context.Context) error {
	c, err := agentproto.NewClient(q.cfg.masters, q.cfg.token)
	if err != nil {
		return err
	}
	q.client = scheduler.NewClient(c)
	q.api = c
	q.lastOffer.Store(time.Now().UnixNano())
	q.waiting.Store(int64(len(q.pending)))
	pctx, stopProgress := context.WithCancel(ctx)
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		q.reportProgress(pctx)
	}()
	defer func() {
		stopProgress()
		<-progressDone
	}()
	backoff := 250 * time.Millisecond
	for {
		sess, err := q.subscribe(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			q.log.Warn("subscription failed; retrying", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 250 * time.Millisecond
		finished, err := q.serve(ctx, sess)
		sess.Close()
		if finished {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		q.log.Warn("event stream lost; re-subscribing", "err", err)
	}
}

func (q *queue) subscribe(ctx context.Context) (*scheduler.Session, error) {
	info := scheduler.FrameworkInfo{Name: q.cfg.name, Roles: []string{q.cfg.role}, FailoverTimeout: q.cfg.failover.Seconds(),
		Capabilities: []scheduler.Capability{{Type: scheduler.CapabilityPartitionAware}}}
	if q.cfg.revocable {
		info.Capabilities = append(info.Capabilities, scheduler.Capability{Type: scheduler.CapabilityRevocable})
	}
	if q.rep.FrameworkID != "" {
		info.ID = scheduler.NewID(q.rep.FrameworkID)
	}
	sess, err := q.client.Subscribe(ctx, info)
	if err != nil {
		return nil, err
	}
	q.rep.FrameworkID = sess.FrameworkID
	q.fwID.Store(sess.FrameworkID)
	q.rep.Subscriptions++
	q.log.Info("subscribed", "framework", sess.FrameworkID, "master", sess.Leader(), "subscription", q.rep.Subscriptions)
	// After a reconnection, ask where the launched commands stand: updates
	// may have been lost with the previous master.
	var active []string
	for _, t := range q.rep.Tasks {
		if t.ID != "" && !scheduler.IsTerminal(t.State) {
			active = append(active, t.ID)
		}
	}
	if len(active) > 0 {
		if err := sess.Reconcile(ctx, active...); err != nil {
			sess.Close()
			return nil, err
		}
		q.rep.Reconciliations++
	}
	if len(q.pending) > 0 && q.rep.Subscriptions > 1 {
		q.rep.Revives = append(q.rep.Revives, time.Now())
		_ = sess.Revive(ctx)
	}
	return sess, nil
}

// serve handles one subscription's events. It reports true when every
// command has finished and the framework is torn down.
func (q *queue) serve(ctx context.Context, sess *scheduler.Session) (bool, error) {
	for {
		ev, err := sess.Recv()
		if err != nil {
			return false, err
		}
		switch ev.Type {
		case scheduler.EventOffers:
			agents := make([]string, len(ev.Offers.Offers))
			for i, o := range ev.Offers.Offers {
				agents[i] = o.Hostname
			}
			q.log.Info("offers", "agents", agents, "pending", len(q.pending))
			q.lastOffer.Store(time.Now().UnixNano())
			q.offers(ctx, sess, ev.Offers.Offers)
		case scheduler.EventUpdate:
			q.update(ev.Update.Status)
			if err := sess.Acknowledge(ctx, ev.Update.Status); err != nil {
				q.log.Warn("acknowledging", "err", err)
			}
		case scheduler.EventRescind:
			q.log.Info("offer rescinded", "offer", ev.Rescind.OfferID.Value)
		}
		q.waiting.Store(int64(len(q.pending)))
		if q.revive {
			q.revive = false
			q.rep.Revives = append(q.rep.Revives, time.Now())
			if err := sess.Revive(ctx); err != nil {
				q.log.Warn("revive", "err", err)
			}
		}
		if q.done() {
			if err := sess.Teardown(ctx); err != nil {
				return false, fmt.Errorf("teardown: %w", err)
			}
			q.rep.TornDown = true
			q.log.Info("every command finished; framework torn down", "framework", q.rep.FrameworkID)
			return true, nil
		}
	}
}

// offers spreads the pending commands over the offers of one event, one
// at a time in turn, so that a round of offers from several agents shares
// the work; offers it has no use for are declined with the filter.
func (q *queue) offers(ctx context.Context, sess *scheduler.Session, offers []scheduler.Offer) {
	// What is left of each offer, per part: a command goes to the
	// revocable part when it fits (dedicated capacity is scarcer), else
	// to the dedicated part.
	type room struct{ rev, ded resources.Resources }
	left := make([]room, len(offers))
	launch := make([][]scheduler.TaskInfo, len(offers))
	for i, o := range offers {
		q.rep.Offers = append(q.rep.Offers, offerRecord{Subscription: q.rep.Subscriptions, Agent: o.AgentID.Value, At: time.Now()})
		ded, rev, err := scheduler.Sum(o.Resources)
		if err != nil {
			q.log.Warn("unreadable offer", "offer", o.ID.Value, "err", err)
			continue
		}
		left[i].ded = ded
		if q.cfg.revocable {
			left[i].rev = rev
		}
	}
	need := resources.Resources{CPUs: q.cfg.cpus, MemBytes: int64(q.cfg.memMB * (1 << 20))}
	for placed := true; placed && len(q.pending) > 0; {
		placed = false
		for i, o := range offers {
			if len(q.pending) == 0 {
				break
			}
			var revocable bool
			switch {
			case left[i].rev.Contains(need):
				revocable = true
				left[i].rev = left[i].rev.Sub(need)
			case left[i].ded.Contains(need):
				left[i].ded = left[i].ded.Sub(need)
			default:
				continue
			}
			idx := q.pending[0]
			q.pending = q.pending[1:]
			t := q.rep.Tasks[idx]
			t.Attempts++
			t.ID = fmt.Sprintf("%s-%d-%d", q.cfg.name, idx, t.Attempts)
			t.Agent, t.Host, t.State, t.Message = o.AgentID.Value, o.Hostname, scheduler.TaskStaging, ""
			q.byID[t.ID] = t
			launch[i] = append(launch[i], scheduler.TaskInfo{Name: fmt.Sprintf("%s #%d", q.cfg.name, idx), TaskID: scheduler.ID{Value: t.ID},
				AgentID: o.AgentID, Resources: scheduler.Scalars(need, revocable),
				Command: &scheduler.CommandInfo{Value: q.cfg.commands[idx]}})
			placed = true
		}
	}
	for i, o := range offers {
		if len(launch[i]) > 0 {
			if err := sess.Accept(ctx, []string{o.ID.Value}, launch[i], nil); err != nil {
				q.log.Warn("accept", "offer", o.ID.Value, "err", err)
			}
			continue
		}
		if err := sess.Decline(ctx, []string{o.ID.Value}, scheduler.RefuseSeconds(q.cfg.refuse.Seconds())); err != nil {
			q.log.Warn("decline", "offer", o.ID.Value, "err", err)
			continue
		}
		q.rep.Declines = append(q.rep.Declines, declineRecord{Subscription: q.rep.Subscriptions, Agent: o.AgentID.Value,
			At: time.Now(), RefuseSeconds: q.cfg.refuse.Seconds()})
	}
}

// update records a task's status; a command whose attempt ended other
// than finished goes back to the queue until its attempts run out.
func (q *queue) update(st scheduler.TaskStatus) {
	t := q.byID[st.TaskID.Value]
	if t == nil || t.ID != st.TaskID.Value || scheduler.IsTerminal(t.State) && st.State != scheduler.TaskFinished {
		return // an older attempt, or news about an ended one
	}
	t.State, t.Message = st.State, st.Message
	q.log.Info("task update", "task", st.TaskID.Value, "state", st.State, "reason", st.Reason)
	switch st.State {
	case scheduler.TaskFinished:
		return
	case scheduler.TaskUnreachable:
		return // partition-aware: it may come back
	}
	if !scheduler.IsTerminal(st.State) && st.State != scheduler.TaskUnknown {
		return
	}
	if t.Attempts >= q.cfg.maxAttempts {
		t.State = "FAILED_PERMANENTLY"
		q.log.Warn("command failed for good", "index", t.Index, "attempts", t.Attempts, "last", st.State)
		return
	}
	t.State = "PENDING"
	if !slices.Contains(q.pending, t.Index) {
		q.pending = append(q.pending, t.Index)
		q.revive = true
	}
}

// reportProgress says, every --progress while commands wait and no offer
// has come for that long, that the queue is waiting and what the master
// reports, so that a queue with nothing to run on is never silent.
func (q *queue) reportProgress(ctx context.Context) {
	t := time.NewTicker(q.cfg.progress)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		since := time.Since(time.Unix(0, q.lastOffer.Load()))
		if n := q.waiting.Load(); n > 0 && since >= q.cfg.progress {
			q.log.Info("waiting for offers", "pending", n, "no_offer_for", since.Round(time.Second), "why", q.whyNoOffers(ctx))
		}
	}
}

// whyNoOffers is the master's reason for this framework when it gives
// one, else what its state says of the capacity this framework can use.
func (q *queue) whyNoOffers(ctx context.Context) string {
	if q.frameworkID() == "" {
		// Offers come only to a subscribed framework; why the
		// subscription has not happened yet is logged as it retries.
		return "not subscribed to the master yet"
	}
	var fws []struct {
		ID     string `json:"id"`
		Reason string `json:"reason"`
	}
	if err := q.api.Do(ctx, "GET", "/api/v1/frameworks", nil, &fws); err != nil {
		return "cannot ask the master: " + err.Error()
	}
	for _, fw := range fws {
		if fw.ID == q.frameworkID() && fw.Reason != "" {
			return fw.Reason
		}
	}
	var st struct {
		Agents map[string]int `json:"agents"`
		Pools  map[string]struct {
			Total resources.Resources `json:"total"`
			Used  resources.Resources `json:"used"`
		} `json:"pools"`
	}
	if err := q.api.Do(ctx, "GET", "/api/v1/state", nil, &st); err != nil {
		return "cannot ask the master: " + err.Error()
	}
	if st.Agents["active"] == 0 {
		return "the master has no active agent"
	}
	free := func(pool string) string {
		p := st.Pools[pool]
		f := p.Total.Sub(p.Used)
		return fmt.Sprintf("%s pool %.2f cpus, %d MiB free", pool, f.CPUs, f.MemBytes>>20)
	}
	need := fmt.Sprintf("each command needs %.2f cpus, %.0f MiB", q.cfg.cpus, q.cfg.memMB)
	if !q.cfg.revocable {
		return free("dedicated") + "; " + need + " (--revocable=false: dedicated capacity only)"
	}
	return free("revocable") + ", " + free("dedicated") + "; " + need
}

func (q *queue) writeReport(path string) error {
	data, err := json.MarshalIndent(q.rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
