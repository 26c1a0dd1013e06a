package store

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

const (
	// embedReadyTimeout bounds the embedded server's start-up. It is much
	// longer than a dial timeout because a restart replays the WAL.
	embedReadyTimeout = 60 * time.Second
	// embedStopTimeout bounds waiting for the embedded server to stop in
	// Close; etcd's own Close can block on in-flight requests.
	embedStopTimeout = 10 * time.Second
)

// startEmbedded starts a single-node etcd in dataDir/etcd whose clients
// connect through a unix socket only the master's user can reach, and
// returns it with its client URLs and what removes the socket's directory
// once it has stopped.
// mute silences the server's logging once set; Close sets it because etcd
// reports every listener it shuts down as an error.
func startEmbedded(ctx context.Context, dataDir string, log *slog.Logger, mute *atomic.Bool) (srv *embed.Etcd, eps []string, cleanup func(), err error) {
	dir := filepath.Join(dataDir, "etcd")
	cfg := embed.NewConfig()
	cfg.Name = "headroom"
	cfg.Dir = dir

	// The client listener is a unix socket in a directory only the
	// master's user can enter (dataDir/etcd is 0700), never a TCP port:
	// the embedded etcd has no authentication of its own, so anyone who
	// could connect to it (every task on a host that runs a master and an
	// agent, any local user) could read and rewrite the whole cluster
	// state, agent and framework bindings included, past every credential
	// the master's API checks.
	sock, cleanup, err := clientSocket(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	client := url.URL{Scheme: "unix", Path: sock}
	cfg.ListenClientUrls = []url.URL{client}
	cfg.AdvertiseClientUrls = []url.URL{client}
	// The peer URL is never dialled in a single-node cluster, so it may
	// keep port 0 in the membership record; that record is identical on
	// every restart. Port 0 lets the kernel pick a free port at bind time.
	lo := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	cfg.ListenPeerUrls = []url.URL{lo}
	cfg.AdvertisePeerUrls = []url.URL{lo}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	// On a restart the existing WAL decides the membership and these are
	// ignored; on first start they make a fresh one-member cluster.
	cfg.ClusterState = embed.ClusterStateFlagNew

	// Keep an hour of history: enough for watchers to resume after a
	// short disconnect, while bounding the database under steady churn.
	cfg.AutoCompactionMode = embed.CompactorModePeriodic
	cfg.AutoCompactionRetention = "1h"

	// etcd logs a great deal at info level; warnings and errors go to the
	// caller's slog logger instead of etcd's own stderr logger.
	cfg.Logger = "zap"
	cfg.LogLevel = "warn"
	core := newSlogCore(log.With("component", "etcd"), slog.LevelWarn)
	core.mute = mute
	core.demote = embedBenignWarnings
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.New(core))

	srv, err = embed.StartEtcd(cfg)
	if err != nil {
		cleanup()
		return nil, nil, nil, fmt.Errorf("store: start embedded etcd in %s: %w", dir, err)
	}

	timer := time.NewTimer(embedReadyTimeout)
	defer timer.Stop()
	select {
	case <-srv.Server.ReadyNotify():
	case err := <-srv.Err():
		mute.Store(true)
		srv.Close()
		cleanup()
		return nil, nil, nil, fmt.Errorf("store: embedded etcd in %s failed while starting: %w", dir, err)
	case <-timer.C:
		mute.Store(true)
		srv.Server.Stop()
		srv.Close()
		cleanup()
		return nil, nil, nil, fmt.Errorf("store: embedded etcd in %s not ready within %s", dir, embedReadyTimeout)
	case <-ctx.Done():
		mute.Store(true)
		srv.Server.Stop()
		srv.Close()
		cleanup()
		return nil, nil, nil, fmt.Errorf("store: embedded etcd in %s: %w", dir, ctx.Err())
	}

	return srv, []string{"unix://" + sock}, cleanup, nil
}

// maxSocketPath is the longest unix socket path Linux accepts
// (sizeof(sun_path) less its terminating NUL).
const maxSocketPath = 107

// clientSocket returns the path of the embedded etcd's client socket:
// etcdDir/client.sock, in the 0700 directory etcd keeps its data in. A data
// dir too deep for a socket path gets a fresh 0700 directory of its own in
// the system's temporary directory instead; cleanup removes that one (etcd
// removes the socket itself when it stops).
func clientSocket(etcdDir string) (sock string, cleanup func(), err error) {
	if err := os.MkdirAll(etcdDir, 0o700); err != nil {
		return "", nil, fmt.Errorf("store: create etcd dir %s: %w", etcdDir, err)
	}
	// etcd creates its dir 0700 but keeps the mode of an existing one:
	// the socket is only as private as this directory.
	if err := os.Chmod(etcdDir, 0o700); err != nil {
		return "", nil, fmt.Errorf("store: make etcd dir %s private: %w", etcdDir, err)
	}
	sock = filepath.Join(etcdDir, "client.sock")
	if len(sock) <= maxSocketPath {
		return sock, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "headroom-etcd-")
	if err != nil {
		return "", nil, fmt.Errorf("store: %s is longer than a unix socket path (%d bytes) and no private directory could be made for it: %w", sock, maxSocketPath, err)
	}
	return filepath.Join(tmp, "client.sock"), func() { _ = os.RemoveAll(tmp) }, nil
}

// relayServerErrors logs errors the embedded server reports after start
// (for example a failing disk). It returns when the server closes its error
// channel on shutdown, which Close always causes.
func (s *Store) relayServerErrors() {
	defer close(s.serverDone)
	for err := range s.server.Err() {
		s.log.Error("embedded etcd error", "err", err)
	}
}

// stopServer stops the embedded server, if any, and waits (bounded) for
// the error relay to finish so no goroutine outlives Close.
func (s *Store) stopServer() {
	if s.server == nil {
		return
	}
	s.muteServer.Store(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.server.Close()
	}()
	timer := time.NewTimer(embedStopTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		s.log.Warn("embedded etcd did not stop in time", "dir", s.server.Config().Dir, "timeout", embedStopTimeout)
		return
	}
	<-s.serverDone
	s.serverCleanup()
}

// embedBenignWarnings are warnings every embedded start logs about choices
// made deliberately here (one loopback port for HTTP and gRPC, no auth);
// they are logged at debug level instead of alarming operators.
var embedBenignWarnings = map[string]bool{
	"Running http and grpc server on single port. This is not recommended for production.": true,
	"simple token is not cryptographically signed":                                         true,
}

// slogCore is a zapcore.Core writing to an slog.Logger, so etcd's zap
// logging ends up wherever the rest of headroom logs.
type slogCore struct {
	log    *slog.Logger
	min    slog.Level
	attrs  []any
	mute   *atomic.Bool    // when non-nil and set, nothing is logged
	demote map[string]bool // messages logged at debug level; read-only
}

func newSlogCore(log *slog.Logger, min slog.Level) *slogCore {
	return &slogCore{log: log, min: min}
}

// newSlogZap returns a zap logger over newSlogCore, for clientv3.
func newSlogZap(log *slog.Logger, min slog.Level) *zap.Logger {
	return zap.New(newSlogCore(log, min))
}

func zapToSlog(l zapcore.Level) slog.Level {
	switch {
	case l <= zapcore.DebugLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

func (c *slogCore) Enabled(l zapcore.Level) bool {
	return zapToSlog(l) >= c.min && (c.mute == nil || !c.mute.Load())
}

func (c *slogCore) With(fields []zapcore.Field) zapcore.Core {
	attrs := append(append([]any(nil), c.attrs...), fieldsToAttrs(fields)...)
	return &slogCore{log: c.log, min: c.min, attrs: attrs, mute: c.mute, demote: c.demote}
}

func (c *slogCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(ent.Level) {
		return ce.AddCore(ent, c)
	}
	return ce
}

func (c *slogCore) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	args := append(append([]any(nil), c.attrs...), fieldsToAttrs(fields)...)
	if ent.LoggerName != "" {
		args = append(args, "logger", ent.LoggerName)
	}
	level := zapToSlog(ent.Level)
	if c.demote[ent.Message] {
		level = slog.LevelDebug
	}
	c.log.Log(context.Background(), level, ent.Message, args...)
	return nil
}

func (c *slogCore) Sync() error { return nil }

func fieldsToAttrs(fields []zapcore.Field) []any {
	if len(fields) == 0 {
		return nil
	}
	// One encoder per field keeps zap's field order (a shared map would
	// not); a field usually encodes to exactly one key.
	attrs := make([]any, 0, len(fields))
	for _, f := range fields {
		enc := zapcore.NewMapObjectEncoder()
		f.AddTo(enc)
		for k, v := range enc.Fields {
			attrs = append(attrs, slog.Any(k, v))
		}
	}
	return attrs
}
