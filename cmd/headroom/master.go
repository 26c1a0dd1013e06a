package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/headroom-dev/headroom/exporter"
	"github.com/headroom-dev/headroom/internal/dirlock"
	"github.com/headroom-dev/headroom/internal/httpserver"
	"github.com/headroom-dev/headroom/master"
	"github.com/headroom-dev/headroom/master/store"
)

type masterFlags struct {
	listen string
	// listenFlag names the listen address in errors: "listen", or the
	// demo's "master-listen".
	listenFlag        string
	webConfig         string
	dataDir           string
	etcdEndpoints     string
	advertise         string
	tokenFile         string
	credentialsFile   string
	insecure          bool
	agentAPITokenFile string
	agentCAFile       string
	heartbeatInterval time.Duration
	agentTimeout      time.Duration
	electionTTL       time.Duration
	fwFailover        time.Duration
	fwHeartbeat       time.Duration
	stopTimeout       time.Duration
}

func newMasterCommand(g *globalFlags) *cobra.Command {
	f := &masterFlags{}
	cmd := &cobra.Command{
		Use:   "master",
		Short: "Run a master: agent registry, DRF offers, apps, state in etcd",
		Long: `Run a master. Without --etcd-endpoints it starts an embedded single-node
etcd in --data-dir, so this one command is a working master. With
--etcd-endpoints, any number of masters share an existing etcd cluster: one
is elected leader (lease of --election-ttl), the others redirect API calls
to it (307) and take over when it dies.

The master keeps the agent registry, offers the agents' harvested
(revocable) and dedicated capacity to frameworks with hierarchical DRF, and
runs Marathon-style long-running apps (/v2/apps) and periodic jobs
(/v1/jobs). External frameworks subscribe on /api/v1/scheduler, a Mesos
v1-style scheduler API (docs/frameworks.md).

With the embedded etcd the master locks --data-dir: a second master on the
same directory exits at once, naming the holder's pid. On SIGTERM or SIGINT
it stops within --stop-timeout (10 s by default), or exits with status 1
and says so.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			return stopWithin(cmd.Context(), f.stopTimeout, log, os.Exit, func() error {
				return runMaster(cmd.Context(), f, log, nil)
			})
		},
	}
	cmd.Flags().DurationVar(&f.stopTimeout, "stop-timeout", 10*time.Second,
		"after SIGTERM or SIGINT the master exits within this long: past it, it logs and exits with status 1 even if a step (say an unreachable etcd) still hangs")
	f.register(cmd)
	return cmd
}

func (f *masterFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", ":5050", "address of the API and /metrics")
	fl.StringVar(&f.webConfig, "web.config.file", "", "exporter-toolkit web configuration file for TLS and basic auth")
	fl.StringVar(&f.dataDir, "data-dir", defaultMasterDataDir, "directory of the embedded etcd and of the generated credentials (credentials/*.token)")
	fl.StringVar(&f.etcdEndpoints, "etcd-endpoints", "", "comma-separated etcd client URLs of an existing cluster (HA); empty starts an embedded etcd")
	fl.StringVar(&f.advertise, "advertise-url", "", "URL agents, the CLI and other masters use to reach this master (default: http://HOSTNAME:PORT of --listen)")
	fl.StringVar(&f.credentialsFile, "credentials-file", "", "YAML or JSON file of the credentials the API accepts, each with a role (docs/security.md); default: those of --data-dir/credentials, created on first start")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding one bearer token, accepted with the operator role and sent to agents (instead of --credentials-file)")
	fl.BoolVar(&f.insecure, "insecure", false, "require no credential at all (test benches only: anyone reaching --listen can run commands on the agents)")
	fl.StringVar(&f.agentAPITokenFile, "agent-api-token-file", "", "file holding the token sent to the agents' APIs (default: the generated agent credential, or --token-file)")
	fl.StringVar(&f.agentCAFile, "agent-ca-file", "", "PEM CA certificate to trust when agents serve TLS")
	fl.DurationVar(&f.heartbeatInterval, "heartbeat-interval", 2*time.Second, "how often agents heartbeat")
	fl.DurationVar(&f.agentTimeout, "agent-timeout", 15*time.Second, "an agent silent this long is unreachable and its tasks are replaced")
	fl.DurationVar(&f.electionTTL, "election-ttl", 5*time.Second, "leader lease: a dead leader is replaced after about this long")
	fl.DurationVar(&f.fwFailover, "framework-failover-timeout", 15*time.Minute, "how long a framework's tasks outlive its disconnection when it names no failover_timeout")
	fl.DurationVar(&f.fwHeartbeat, "framework-heartbeat", 15*time.Second, "interval of the HEARTBEAT events on framework streams")
}

// advertiseURL is the URL others reach a listener at: the flag's value,
// else the listen host (or the hostname when listening on all addresses)
// and the bound port.
func advertiseURL(flag, listen string, bound net.Addr) (string, error) {
	if flag != "" {
		return strings.TrimRight(flag, "/"), nil
	}
	host, port, err := net.SplitHostPort(bound.String())
	if err != nil {
		return "", err
	}
	if h, _, _ := net.SplitHostPort(listen); h == "" || h == "0.0.0.0" || h == "::" {
		if host, err = os.Hostname(); err != nil {
			return "", fmt.Errorf("hostname: %w", err)
		}
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// stopWithin runs run and, once ctx is done, gives it bound to return:
// past that it logs why and calls exit(1), so that no stuck step (an etcd
// that does not answer, a store still opening) keeps a stopped process
// alive.
func stopWithin(ctx context.Context, bound time.Duration, log *slog.Logger, exit func(int), run func() error) error {
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		t := time.NewTimer(bound)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			log.Error("did not stop in time after the signal; exiting now", "stop_timeout", bound)
			exit(1)
		}
	}()
	return run()
}

// listenError names the flag of an address that could not be bound and,
// when it is taken, what to do.
func listenError(flag, addr string, err error) error {
	if flag == "" {
		flag = "listen"
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("--%s %s: the address is in use (another headroom running?); stop it or choose another --%s: %w", flag, addr, flag, err)
	}
	return fmt.Errorf("--%s %s: %w", flag, addr, err)
}

// makeDataDir creates the master's data dir private to root, but any
// parents it has to create open to others: MkdirAll would make them 0700
// too, and an agent whose --work-dir sits beside the data dir (the
// README's /tmp/headroom-tour/{master,agent}) could then not let its
// unprivileged tasks reach their sandboxes.
func makeDataDir(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// runMaster runs a master until ctx is done. ready, when set, receives the
// advertised URL once serving.
func runMaster(ctx context.Context, f *masterFlags, log *slog.Logger, ready func(url string)) error {
	cfg := store.Config{DataDir: f.dataDir, Logger: log}
	if f.etcdEndpoints != "" {
		cfg.Endpoints = strings.Split(f.etcdEndpoints, ",")
	} else {
		if err := makeDataDir(f.dataDir); err != nil {
			return fmt.Errorf("--data-dir: %w", err)
		}
		// Locked before anything else: a second master on the same
		// embedded etcd would otherwise wait on etcd's own database lock
		// forever, with its port bound and nothing said.
		lock, err := dirlock.Acquire(f.dataDir, "data dir", "master")
		if err != nil {
			return err
		}
		defer lock.Release()
	}
	// After the lock: the credentials live in the data dir too.
	creds, agentToken, err := masterCredentials(f, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return listenError(f.listenFlag, f.listen, err)
	}
	defer ln.Close()
	advertise, err := advertiseURL(f.advertise, f.listen, ln.Addr())
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	reg := exporter.NewRegistry()
	obs, err := exporter.NewMasterObserver(reg)
	if err != nil {
		return err
	}
	agentClient, err := httpClient("agent-ca-file", f.agentCAFile, 10*time.Second)
	if err != nil {
		return err
	}
	m, err := master.New(master.Config{
		Store: st, AdvertiseURL: advertise, HeartbeatInterval: f.heartbeatInterval,
		AgentTimeout: f.agentTimeout, ElectionTTL: f.electionTTL, AgentToken: agentToken, AgentClient: agentClient,
		Credentials:              creds,
		FrameworkFailoverTimeout: f.fwFailover, FrameworkHeartbeatInterval: f.fwHeartbeat,
		Metrics: obs, Logger: log,
	})
	if err != nil {
		return err
	}
	reg.MustRegister(exporter.NewMasterCollector(m, log))
	handler := m.Handler(exporter.Handler(reg))

	grp, gctx := errgroup.WithContext(ctx)
	grp.Go(func() error { return m.Run(gctx) })
	grp.Go(func() error {
		return httpserver.Serve(gctx, httpserver.Config{
			Listener: ln, WebConfigFile: f.webConfig, Handler: handler, Logger: log,
			Limits: httpserver.Limits{MaxBodyBytes: master.MaxBodyBytes},
			Ready: func(net.Addr) {
				log.Info("master serving", "api", advertise+"/api/v1/state", "apps", advertise+"/v2/apps",
					"metrics", advertise+"/metrics", "etcd", strings.Join(st.Endpoints(), ","))
				if ready != nil {
					ready(advertise)
				}
			},
		})
	})
	err = grp.Wait()
	log.Info("master stopped")
	return err
}
