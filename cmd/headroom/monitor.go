package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/headroom-dev/headroom/exporter"
	"github.com/headroom-dev/headroom/internal/cgroup"
	"github.com/headroom-dev/headroom/internal/httpserver"
	"github.com/headroom-dev/headroom/monitor"
	"github.com/headroom-dev/headroom/monitor/estimate"
	"github.com/headroom-dev/headroom/monitor/sampler"
)

// monitorFlags are the flags of `headroom monitor`; the agent reuses them
// because it hosts the monitor in-process.
type monitorFlags struct {
	listen string
	// listenFlag names the listen address in errors: "listen", or the
	// demo's "agent-listen".
	listenFlag  string
	webConfig   string
	policyFile  string
	record      string
	procRoot    string
	cgroupRoot  string
	batchCgroup string
	services    []string
}

func (f *monitorFlags) register(cmd *cobra.Command, defaultListen string) {
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", defaultListen, "address to serve /metrics, the landing page and the API on")
	fl.StringVar(&f.webConfig, "web.config.file", "", "exporter-toolkit web configuration file for TLS and basic auth")
	fl.StringVar(&f.policyFile, "policy", "", "headroom policy YAML file (default: the built-in policy, see 'headroom policy check')")
	fl.StringVar(&f.procRoot, "proc-root", "/proc", "procfs mount point")
	fl.StringVar(&f.cgroupRoot, "cgroup-root", "/sys/fs/cgroup", "cgroup filesystem root")
	fl.StringVar(&f.batchCgroup, "batch-cgroup", "headroom/batch", "batch parent cgroup, relative to the cgroup root")
	fl.StringArrayVar(&f.services, "service", nil, "named business service to report, repeatable: NAME=cgroup:PATH, NAME=comm:REGEX or NAME=cmdline:REGEX")
}

// parseServices turns --service values into specs; errors name the value.
func parseServices(values []string, h *cgroup.Hierarchy) ([]sampler.ServiceSpec, error) {
	var out []sampler.ServiceSpec
	for _, v := range values {
		name, sel, ok := strings.Cut(v, "=")
		kind, arg, ok2 := strings.Cut(sel, ":")
		if !ok || !ok2 || name == "" || arg == "" {
			return nil, fmt.Errorf("--service %q: want NAME=cgroup:PATH, NAME=comm:REGEX or NAME=cmdline:REGEX", v)
		}
		spec := sampler.ServiceSpec{Name: name}
		switch kind {
		case "cgroup":
			if h == nil {
				return nil, fmt.Errorf("--service %q: no cgroup hierarchy on this host", v)
			}
			spec.Cgroup = sampler.NewCgroupReader(h, arg)
		case "comm":
			spec.ProcessName = arg
		case "cmdline":
			spec.Cmdline = arg
		default:
			return nil, fmt.Errorf("--service %q: selector %q is not cgroup, comm or cmdline", v, kind)
		}
		if err := spec.Validate(); err != nil {
			return nil, fmt.Errorf("--service %q: %w", v, err)
		}
		out = append(out, spec)
	}
	return out, nil
}

// loadPolicyFlag loads the --policy file; a missing one says how to make
// it, since the README's first try of --policy names a file the user has
// yet to write.
func loadPolicyFlag(path string) (estimate.Policy, error) {
	p, err := monitor.LoadPolicy(path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, fmt.Errorf("--policy %s: no such file; `headroom policy check > %s` writes the default policy to start from (fields: docs/policy.md)", path, path)
	}
	return p, err
}

// build makes the monitor the flags describe. The monitor only reads the
// host: it opens the cgroup hierarchy but creates nothing in it.
func (f *monitorFlags) build(log *slog.Logger, obs monitor.Observer) (*monitor.Monitor, *monitor.Recorder, *cgroup.Hierarchy, error) {
	policy := estimate.DefaultPolicy()
	if f.policyFile != "" {
		p, err := loadPolicyFlag(f.policyFile)
		if err != nil {
			return nil, nil, nil, err
		}
		policy = p
	}
	h, err := cgroup.Open(cgroup.Config{Root: f.cgroupRoot})
	if err != nil {
		log.Warn("no cgroup hierarchy: batch usage reads as zero", "root", f.cgroupRoot, "err", err)
		h = nil
	}
	services, err := parseServices(f.services, h)
	if err != nil {
		return nil, nil, nil, err
	}
	var smp monitor.Sampler
	if _, err := os.Stat(f.procRoot + "/stat"); err == nil {
		cfg := sampler.Config{ProcRoot: f.procRoot, Services: services}
		if h != nil {
			cfg.Batch = sampler.NewCgroupReader(h, f.batchCgroup)
		}
		s, err := sampler.NewProc(cfg)
		if err != nil {
			return nil, nil, nil, err
		}
		smp = s
	} else {
		log.Warn("no procfs: using the portable sampler (no batch cgroup, no PSI)", "proc_root", f.procRoot)
		if len(services) > 0 {
			return nil, nil, nil, fmt.Errorf("--service needs procfs at %s", f.procRoot)
		}
		s, err := sampler.NewFallback()
		if err != nil {
			return nil, nil, nil, err
		}
		smp = s
	}
	var rec *monitor.Recorder
	if f.record != "" {
		rec, err = monitor.OpenRecorder(f.record)
		if err != nil {
			return nil, nil, nil, err
		}
	}
	m, err := monitor.New(monitor.Config{Sampler: smp, Policy: policy, Logger: log, Recorder: rec, Observer: obs})
	if err != nil {
		if rec != nil {
			rec.Close()
		}
		return nil, nil, nil, err
	}
	return m, rec, h, nil
}

func newMonitorCommand(g *globalFlags) *cobra.Command {
	f := &monitorFlags{}
	cmd := &cobra.Command{
		Use:   "monitor",
		Short: "Run the per-host monitor alone, observe-only",
		Long: `Run the per-host monitor alone. It samples /proc, PSI and the batch cgroup,
predicts the business peak and exports, on /metrics, how much CPU and memory
this host could safely give to batch work. It changes nothing on the host:
this is the first step of a rollout, to see in Grafana what could be
harvested before running any agent.

With --record FILE every sample is appended to a CSV file that
'headroom policy simulate' can replay through other policies.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			return runMonitor(cmd.Context(), f, log, nil)
		},
	}
	f.register(cmd, ":5052")
	cmd.Flags().StringVar(&f.record, "record", "", "append every sample to this CSV file (see docs/recording.md)")
	return cmd
}

// runMonitor runs the monitor and its HTTP server until ctx is done. ready,
// when set, receives the bound address.
func runMonitor(ctx context.Context, f *monitorFlags, log *slog.Logger, ready func(net.Addr)) error {
	reg := exporter.NewRegistry()
	obs, err := exporter.NewSampleObserver(reg)
	if err != nil {
		return err
	}
	// Bound first, so that a taken port is the first and only thing said.
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return listenError(f.listenFlag, f.listen, err)
	}
	defer ln.Close()
	m, rec, _, err := f.build(log, obs)
	if err != nil {
		return err
	}
	if rec != nil {
		defer func() {
			if err := rec.Close(); err != nil {
				log.Error("closing recording", "err", err)
			}
		}()
	}
	reg.MustRegister(exporter.NewMonitorCollector(m))

	mux := m.Routes(exporter.Handler(reg))

	grp, ctx := errgroup.WithContext(ctx)
	grp.Go(func() error { return m.Run(ctx) })
	grp.Go(func() error { return releaseInitPagesLater(ctx, log) })
	grp.Go(func() error {
		return httpserver.Serve(ctx, httpserver.Config{
			Listener: ln, WebConfigFile: f.webConfig, Handler: mux, Logger: log,
			Ready: func(a net.Addr) {
				log.Info("monitor serving", "metrics", fmt.Sprintf("http://%s/metrics", a), "policy", f.policyFile, "record", f.record)
				if ready != nil {
					ready(a)
				}
			},
		})
	})
	err = grp.Wait()
	log.Info("monitor stopped")
	return err
}
