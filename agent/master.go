package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
)

// MasterConfig configures the master client.
type MasterConfig struct {
	// URLs are the masters, in order; the client follows a standby's
	// redirect to the leader and moves along the list when one is down.
	URLs []string
	// IDFile keeps the agent id across restarts, so a restarted agent
	// re-registers as itself and keeps its tasks.
	IDFile string
	// Token, when set, is sent as a bearer token.
	Token      string
	HTTPClient *http.Client
	// MinBackoff and MaxBackoff bound the reconnect backoff.
	MinBackoff, MaxBackoff time.Duration
	Clock                  clockwork.Clock
	Logger                 *slog.Logger
}

// MasterState is the client's view of the master, for the API and metrics.
type MasterState struct {
	Registered        bool      `json:"registered"`
	AgentID           string    `json:"agent_id,omitempty"`
	URL               string    `json:"url,omitempty"`
	LastHeartbeat     time.Time `json:"last_heartbeat,omitzero"`
	HeartbeatFailures uint64    `json:"heartbeat_failures"`
	PendingUpdates    int       `json:"pending_updates"`
}

// MasterClient registers the agent and heartbeats to the master. Status
// updates wait in pending until the master acknowledges their UUID; they
// ride on every heartbeat until then.
type MasterClient struct {
	cfg    MasterConfig
	client *agentproto.Client

	mu       sync.Mutex
	state    MasterState
	pending  []api.TaskStatus
	interval time.Duration
}

// NewMasterClient validates the URLs and reads the saved agent id.
func NewMasterClient(cfg MasterConfig) (*MasterClient, error) {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second, CheckRedirect: agentproto.KeepAuthOnRedirect}
	}
	client, err := agentproto.New(cfg.URLs, cfg.Token, cfg.HTTPClient)
	if err != nil {
		return nil, fmt.Errorf("--master: %w", err)
	}
	cfg.URLs = client.URLs
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &MasterClient{cfg: cfg, client: client, interval: 5 * time.Second}
	if cfg.IDFile != "" {
		b, err := os.ReadFile(cfg.IDFile)
		switch {
		case err == nil:
			id := strings.TrimSpace(string(b))
			if !api.ValidID(id) {
				return nil, fmt.Errorf("agent id file %s: %q is not a valid id", cfg.IDFile, id)
			}
			c.state.AgentID = id
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("agent id file: %w", err)
		}
	}
	return c, nil
}

// State returns the client's state.
func (c *MasterClient) State() MasterState {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.state
	s.PendingUpdates = len(c.pending)
	return s
}

// Enqueue adds status updates to send.
func (c *MasterClient) Enqueue(updates ...api.TaskStatus) {
	c.mu.Lock()
	c.pending = append(c.pending, updates...)
	c.mu.Unlock()
}

// host is what the client needs of the agent.
type host interface {
	registerRequest() agentproto.RegisterRequest
	heartbeat() agentproto.Heartbeat
	applyMasterOrders(agentproto.HeartbeatResponse)
	updates() <-chan api.TaskStatus
	acknowledged([]api.TaskStatus)
}

// Run registers, then heartbeats until ctx is done, re-registering with
// backoff whenever the master is away. The agent keeps running its tasks
// meanwhile: a master outage only delays offers.
func (c *MasterClient) Run(ctx context.Context, h host) error {
	collect := make(chan struct{})
	go func() { // owned here: stops with ctx, Run waits for it below
		defer close(collect)
		for {
			select {
			case <-ctx.Done():
				return
			case u := <-h.updates():
				c.Enqueue(u)
			}
		}
	}()
	defer func() { <-collect }()

	backoff := c.cfg.MinBackoff
	registered := false
	for {
		var err error
		if !registered {
			err = c.register(ctx, h)
			registered = err == nil
		} else {
			var resp agentproto.HeartbeatResponse
			resp, err = c.heartbeat(ctx, h)
			if err == nil {
				if resp.Reregister {
					registered = false
					c.setRegistered(false)
					continue
				}
				h.applyMasterOrders(resp)
			}
		}
		wait := c.heartbeatInterval()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			c.mu.Lock()
			c.state.HeartbeatFailures++
			c.mu.Unlock()
			if agentproto.IsStatus(err, http.StatusNotFound) {
				registered = false
				c.setRegistered(false)
			}
			c.cfg.Logger.Warn("master unreachable; tasks keep running", "err", err, "retry_in", backoff)
			wait = backoff
			backoff = min(backoff*2, c.cfg.MaxBackoff)
		} else {
			backoff = c.cfg.MinBackoff
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.cfg.Clock.After(wait):
		}
	}
}

func (c *MasterClient) heartbeatInterval() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.interval
}

func (c *MasterClient) setRegistered(ok bool) {
	c.mu.Lock()
	c.state.Registered = ok
	c.mu.Unlock()
}

func (c *MasterClient) register(ctx context.Context, h host) error {
	req := h.registerRequest()
	c.mu.Lock()
	req.AgentID = c.state.AgentID
	c.mu.Unlock()
	var resp agentproto.RegisterResponse
	if err := c.call(ctx, agentproto.RegisterPath, req, &resp); err != nil {
		return fmt.Errorf("registering: %w", err)
	}
	if !api.ValidID(resp.AgentID) {
		return fmt.Errorf("registering: master answered an invalid agent id %q", resp.AgentID)
	}
	if c.cfg.IDFile != "" {
		if err := writeFileAtomic(c.cfg.IDFile, []byte(resp.AgentID+"\n")); err != nil {
			return fmt.Errorf("saving the agent id: %w", err)
		}
	}
	c.mu.Lock()
	c.state.AgentID, c.state.Registered = resp.AgentID, true
	c.interval = resp.HeartbeatInterval()
	c.mu.Unlock()
	if resp.Attributes != nil {
		h.applyMasterOrders(agentproto.HeartbeatResponse{Attributes: resp.Attributes})
	}
	c.cfg.Logger.Info("registered with the master", "agent_id", resp.AgentID, "master", c.State().URL)
	return nil
}

func (c *MasterClient) heartbeat(ctx context.Context, h host) (agentproto.HeartbeatResponse, error) {
	hb := h.heartbeat()
	c.mu.Lock()
	hb.AgentID = c.state.AgentID
	hb.Updates = append([]api.TaskStatus(nil), c.pending...)
	c.mu.Unlock()
	var resp agentproto.HeartbeatResponse
	if err := c.call(ctx, agentproto.HeartbeatPath(hb.AgentID), hb, &resp); err != nil {
		return resp, fmt.Errorf("heartbeat: %w", err)
	}
	acked := make(map[string]bool, len(resp.Acks))
	for _, id := range resp.Acks {
		acked[id] = true
	}
	var done []api.TaskStatus
	c.mu.Lock()
	kept := c.pending[:0]
	for _, u := range c.pending {
		if acked[u.UUID] {
			done = append(done, u)
		} else {
			kept = append(kept, u)
		}
	}
	c.pending = kept
	c.state.LastHeartbeat = c.cfg.Clock.Now()
	c.mu.Unlock()
	h.acknowledged(done)
	return resp, nil
}

// call posts body to path on the masters (agentproto.Client: the current
// one first, the others in order when it is down; a standby's 307 leads to
// the leader) and says what a refusal means for the agent.
func (c *MasterClient) call(ctx context.Context, path string, body, out any) error {
	err := c.client.Do(ctx, http.MethodPost, path, body, out)
	var se *agentproto.StatusError
	switch {
	case err == nil:
		c.mu.Lock()
		c.state.URL = c.client.Current()
		c.mu.Unlock()
		return nil
	case !errors.As(err, &se):
		return err // no master answered: each error names its URL
	case se.Code == http.StatusNotFound:
		return fmt.Errorf("%s: the master does not know this agent: %w", c.client.Current(), err)
	case se.Code == http.StatusUnauthorized:
		return fmt.Errorf("%s: %w (the master needs the agent credential: --token-file, e.g. a copy of the master's DATA_DIR/credentials/agent.token)", c.client.Current(), err)
	}
	return fmt.Errorf("%s: %w", c.client.Current(), err)
}

// writeFileAtomic writes via a temporary file and a rename, so a crash
// leaves the old content or the new, never half of it.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
