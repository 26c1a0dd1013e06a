package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
)

// Config describes one listener.
type Config struct {
	// Listen is the address, e.g. ":5052" or "127.0.0.1:0".
	Listen string
	// Listener, when set, is used instead of opening Listen: a caller that
	// must know its port before serving (to advertise it) binds first.
	Listener net.Listener
	// WebConfigFile is an exporter-toolkit web configuration file (TLS,
	// basic auth); empty serves plain HTTP.
	WebConfigFile string
	Handler       http.Handler
	Logger        *slog.Logger
	// ShutdownTimeout bounds the graceful shutdown; default 5s.
	ShutdownTimeout time.Duration
	// Ready, when set, is called with the bound address once the listener
	// is open (tests listen on port 0 and need to know the port).
	Ready func(net.Addr)
	// Limits bound every request (timeouts, body size); zero fields take
	// the defaults of DefaultLimits.
	Limits Limits
}

// Serve listens and serves until ctx is done, then shuts down gracefully.
// It returns nil after a clean shutdown.
func Serve(ctx context.Context, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 5 * time.Second
	}
	if cfg.WebConfigFile != "" {
		if err := web.Validate(cfg.WebConfigFile); err != nil {
			return fmt.Errorf("web config %s: %w", cfg.WebConfigFile, err)
		}
	}
	l := cfg.Listener
	if l == nil {
		var err error
		if l, err = net.Listen("tcp", cfg.Listen); err != nil {
			return fmt.Errorf("listening on %q: %w", cfg.Listen, err)
		}
	}
	if cfg.Ready != nil {
		cfg.Ready(l.Addr())
	}
	lim := cfg.Limits.withDefaults()
	srv := &http.Server{
		Handler:           Guard(cfg.Handler, lim),
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		IdleTimeout:       lim.IdleTimeout,
		// The server-wide ReadTimeout and WriteTimeout would also bound
		// the life of long responses (a background read hitting the
		// deadline cancels the request's context): Guard sets them per
		// request instead, so a handler can lift the write side.
	}
	webConfig := cfg.WebConfigFile
	flags := &web.FlagConfig{WebConfigFile: &webConfig}
	errc := make(chan error, 1)
	go func() { errc <- web.Serve(l, srv, flags, cfg.Logger) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serving on %s: %w", l.Addr(), err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		_ = srv.Close()
		<-errc
		return fmt.Errorf("shutting down %s: %w", l.Addr(), err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving on %s: %w", l.Addr(), err)
	}
	return nil
}
