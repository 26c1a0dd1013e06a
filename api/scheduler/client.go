package scheduler

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/headroom-dev/headroom/api/agentproto"
)

// Client subscribes frameworks to a master. It takes the same master list,
// token and transport as agentproto.Client: the subscription is sent to each
// master in turn, and a standby's redirect leads it to the leader.
type Client struct {
	base *agentproto.Client
	// stream is base's HTTP client without its overall timeout: the
	// subscription's body stays open for the framework's life.
	stream *http.Client
}

// NewClient wraps an agentproto.Client.
func NewClient(c *agentproto.Client) *Client {
	s := *c.HTTP
	s.Timeout = 0
	if s.CheckRedirect == nil {
		s.CheckRedirect = agentproto.KeepAuthOnRedirect
	}
	return &Client{base: c, stream: &s}
}

// maxEventBytes bounds one line of the stream: an OFFERS event for
// thousands of agents is a few megabytes.
const maxEventBytes = 64 << 20

// Subscribe opens a subscription and waits for its SUBSCRIBED event. ctx
// bounds the subscription's whole life, not only the handshake; Close ends
// it sooner. To re-subscribe after a disconnection, pass the framework id
// in info.ID.
func (c *Client) Subscribe(ctx context.Context, info FrameworkInfo) (*Session, error) {
	body, err := json.Marshal(Call{Type: CallSubscribe, Subscribe: &Subscribe{FrameworkInfo: info}, FrameworkID: info.ID})
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, base := range c.base.URLs {
		s, err := c.subscribe(ctx, base, body)
		if err == nil {
			return s, nil
		}
		var se *agentproto.StatusError
		if errors.As(err, &se) && se.Code != http.StatusServiceUnavailable || ctx.Err() != nil {
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func (c *Client) subscribe(ctx context.Context, base string, body []byte) (*Session, error) {
	sctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(sctx, http.MethodPost, base+Path, bytes.NewReader(body))
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/x-ndjson")
	if c.base.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.base.Token)
	}
	resp, err := c.stream.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("subscribing at %s: %w", base, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		se := agentproto.NewStatusError(resp.StatusCode, b)
		return nil, fmt.Errorf("subscribing at %s: %w", base, se)
	}
	leader := strings.TrimSuffix(resp.Request.URL.String(), Path)
	s := &Session{client: c, leader: leader, StreamID: resp.Header.Get(StreamIDHeader), body: resp.Body, cancel: cancel}
	s.scan = bufio.NewScanner(resp.Body)
	s.scan.Buffer(make([]byte, 0, 64<<10), maxEventBytes)
	if s.StreamID == "" {
		s.Close()
		return nil, fmt.Errorf("subscribing at %s: no %s header in the answer", leader, StreamIDHeader)
	}
	// The first event is due at once; a master that sends nothing is
	// not one to wait on.
	s.watchdog = time.AfterFunc(30*time.Second, cancel)
	ev, err := s.Recv()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("subscribing at %s: %w", leader, err)
	}
	if ev.Type != EventSubscribed || ev.Subscribed == nil {
		s.Close()
		if ev.Type == EventError && ev.Error != nil {
			return nil, fmt.Errorf("subscribing at %s: %s", leader, ev.Error.Message)
		}
		return nil, fmt.Errorf("subscribing at %s: first event is %s, want SUBSCRIBED", leader, ev.Type)
	}
	s.FrameworkID = ev.Subscribed.FrameworkID.Value
	s.HeartbeatInterval = time.Duration(ev.Subscribed.HeartbeatIntervalSeconds * float64(time.Second))
	return s, nil
}

// Session is one subscription: its event stream and the calls made
// under it. Recv is for one goroutine; the calls are safe from any.
type Session struct {
	client *Client
	// leader is the master that holds the subscription; calls go there
	// directly, since the stream id means nothing to another master.
	leader            string
	StreamID          string
	FrameworkID       string
	HeartbeatInterval time.Duration

	body     io.ReadCloser
	scan     *bufio.Scanner
	cancel   context.CancelFunc
	watchdog *time.Timer
	close    sync.Once
}

// Leader returns the URL of the master holding the subscription.
func (s *Session) Leader() string { return s.leader }

// Recv returns the next event. It fails when the stream ends, on an
// ERROR event, and when no event (not even a HEARTBEAT) arrived within
// three heartbeat intervals: the master or the path to it is gone, and
// the framework should re-subscribe.
func (s *Session) Recv() (Event, error) {
	if !s.scan.Scan() {
		err := s.scan.Err()
		if err == nil {
			err = io.EOF
		}
		return Event{}, fmt.Errorf("event stream from %s ended: %w", s.leader, err)
	}
	if s.HeartbeatInterval > 0 {
		s.watchdog.Reset(3*s.HeartbeatInterval + time.Second)
	}
	var ev Event
	if err := json.Unmarshal(s.scan.Bytes(), &ev); err != nil {
		return Event{}, fmt.Errorf("event stream from %s: undecodable event: %w", s.leader, err)
	}
	if ev.Type == EventError {
		msg := "no message"
		if ev.Error != nil {
			msg = ev.Error.Message
		}
		return ev, fmt.Errorf("master %s ended the subscription: %s", s.leader, msg)
	}
	return ev, nil
}

// Close ends the stream. The framework stays registered until its
// failover timeout; TEARDOWN removes it.
func (s *Session) Close() {
	s.close.Do(func() {
		if s.watchdog != nil {
			s.watchdog.Stop()
		}
		s.cancel()
		_ = s.body.Close()
	})
}

// Call sends one call under the subscription and waits for the master's
// 202. Its effects arrive as events.
func (s *Session) Call(ctx context.Context, c Call) error {
	c.FrameworkID = NewID(s.FrameworkID)
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.leader+Path, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(StreamIDHeader, s.StreamID)
	if s.client.base.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.client.base.Token)
	}
	resp, err := s.client.base.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s call: %w", c.Type, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		se := agentproto.NewStatusError(resp.StatusCode, b)
		return fmt.Errorf("%s call: %w", c.Type, se)
	}
	return nil
}

func ids(values []string) []ID {
	out := make([]ID, len(values))
	for i, v := range values {
		out[i] = ID{Value: v}
	}
	return out
}

// Accept launches tasks on the offers and returns the rest; filters may
// be nil for the default.
func (s *Session) Accept(ctx context.Context, offerIDs []string, tasks []TaskInfo, filters *Filters) error {
	acc := &Accept{OfferIDs: ids(offerIDs), Filters: filters}
	if len(tasks) > 0 {
		acc.Operations = []Operation{{Type: OperationLaunch, Launch: &Launch{TaskInfos: tasks}}}
	}
	return s.Call(ctx, Call{Type: CallAccept, Accept: acc})
}

// Decline returns offers whole.
func (s *Session) Decline(ctx context.Context, offerIDs []string, filters *Filters) error {
	return s.Call(ctx, Call{Type: CallDecline, Decline: &Decline{OfferIDs: ids(offerIDs), Filters: filters}})
}

// Kill kills a task.
func (s *Session) Kill(ctx context.Context, taskID string) error {
	return s.Call(ctx, Call{Type: CallKill, Kill: &Kill{TaskID: ID{Value: taskID}}})
}

// Acknowledge confirms an update; updates without a uuid need none, and
// Acknowledge ignores them.
func (s *Session) Acknowledge(ctx context.Context, st TaskStatus) error {
	if st.UUID == "" {
		return nil
	}
	ack := &Acknowledge{TaskID: st.TaskID, UUID: st.UUID}
	if st.AgentID != nil {
		ack.AgentID = *st.AgentID
	}
	return s.Call(ctx, Call{Type: CallAcknowledge, Acknowledge: ack})
}

// Reconcile asks for the state of the tasks, or of all when none is named.
func (s *Session) Reconcile(ctx context.Context, taskIDs ...string) error {
	rec := &Reconcile{}
	for _, id := range taskIDs {
		rec.Tasks = append(rec.Tasks, ReconcileTask{TaskID: ID{Value: id}})
	}
	return s.Call(ctx, Call{Type: CallReconcile, Reconcile: rec})
}

// Revive clears the framework's filters and resumes its offers.
func (s *Session) Revive(ctx context.Context) error {
	return s.Call(ctx, Call{Type: CallRevive, Revive: &Roles{}})
}

// Suppress stops the framework's offers until Revive.
func (s *Session) Suppress(ctx context.Context) error {
	return s.Call(ctx, Call{Type: CallSuppress, Suppress: &Roles{}})
}

// Teardown removes the framework: its tasks are killed and its id is
// forgotten.
func (s *Session) Teardown(ctx context.Context) error {
	return s.Call(ctx, Call{Type: CallTeardown})
}
