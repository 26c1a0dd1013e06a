package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/headroom-dev/headroom/agent"
	"github.com/headroom-dev/headroom/agent/executor"
	"github.com/headroom-dev/headroom/exporter"
	"github.com/headroom-dev/headroom/internal/auth"
	"github.com/headroom-dev/headroom/internal/cgroup"
	"github.com/headroom-dev/headroom/internal/dirlock"
	"github.com/headroom-dev/headroom/internal/httpserver"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/monitor"
	"github.com/headroom-dev/headroom/monitor/estimate"
)

type agentFlags struct {
	mon           monitorFlags
	masters       string
	workDir       string
	attributes    string
	dedicated     string
	hostname      string
	advertise     string
	cpuFloor      float64
	user          string
	taskUsers     []string
	uidRange      string
	fetchAllow    []string
	evictGrace    time.Duration
	oomScoreAdj   int
	allowRoot     bool
	tokenFile     string
	apiTokenFile  string
	caFile        string
	cleanupOnStop bool
	// policy, when set, is used instead of --policy (the demo's).
	policy *estimate.Policy
}

func newAgentCommand(g *globalFlags) *cobra.Command {
	f := &agentFlags{}
	cmd := &cobra.Command{
		Use:   "agent --master URL[,URL...] --work-dir DIR",
		Short: "Run the per-host agent: apply the estimate, run batch tasks, evict",
		Long: `Run the per-host agent. It hosts the monitor in-process and applies every
estimate at once to the batch parent cgroup (CFS quota = harvestable CPU,
memory limit = harvestable memory or what tasks hold), runs the tasks the
master places on this host in their own cgroups, evicts revocable tasks when
the business needs memory back, and reports to the master.

Everything it keeps on disk lives in --work-dir, which it locks: a second
agent on the same directory exits at once. The agent starts and serves its
API even while no master is reachable.

On SIGTERM without --cleanup-on-stop (the default) it leaves its tasks
running, for the next agent on the same --work-dir to re-adopt: their
processes and the batch cgroups stay, --batch-cgroup and one cgroup per task
below it (cgroup v1: /sys/fs/cgroup/{cpu,cpuacct,memory}/BATCH_CGROUP; v2:
/sys/fs/cgroup/BATCH_CGROUP). To uninstall, start the agent again with the
same --work-dir and --batch-cgroup plus --cleanup-on-stop and stop it (it
kills the tasks and removes those cgroups), then delete --work-dir.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			return runAgent(cmd.Context(), f, log, nil)
		},
	}
	f.mon.register(cmd, "")
	fl := cmd.Flags()
	fl.Lookup("listen").Usage = "address to serve the API and /metrics on (default: the host and port of --advertise-url, else HOSTNAME:" + defaultAgentPort + "; never every interface unless asked, e.g. :" + defaultAgentPort + ")"
	fl.StringVar(&f.masters, "master", "", "comma-separated master URLs; the agent follows the leader and moves along the list when one is down (empty: standalone)")
	fl.StringVar(&f.workDir, "work-dir", "/var/lib/headroom/agent", "directory for task sandboxes, checkpoints and the agent id")
	fl.StringVar(&f.attributes, "attributes", "", "static attributes, k=v,k=v (the master may add dynamic ones)")
	fl.StringVar(&f.dedicated, "dedicated", "", "non-revocable resources offered besides the harvest, e.g. cpus=2,mem=4GiB (GiB: 2^30 bytes, GB: 10^9)")
	fl.StringVar(&f.hostname, "hostname", "", "hostname to register with (default: the host's)")
	fl.StringVar(&f.advertise, "advertise-url", "", "URL the master uses to reach this agent's API (default: http://HOSTNAME:PORT of --listen)")
	fl.Float64Var(&f.cpuFloor, "cpu-floor", 0.1, "lowest CFS quota of the batch cgroup, in cores: batch tasks crawl, never freeze")
	fl.StringVar(&f.user, "task-user", "", "user that tasks naming none run as when the agent is root: empty for a uid of the task's own from --task-uid-range, '-' keeps root (needs --allow-root-tasks)")
	fl.StringVar(&f.uidRange, "task-uid-range", executor.DefaultUIDRange.String(), "uids (and gids) given one per task, FIRST-LAST; must hold no account of /etc/passwd or /etc/group")
	fl.StringSliceVar(&f.taskUsers, "task-users", nil, "comma-separated users a task may ask for (its user field) besides --task-user; any other is refused")
	fl.StringArrayVar(&f.fetchAllow, "fetch-allow-dir", nil, "directory that file:// and absolute-path artifacts may come from, repeatable (default none: only http(s)); files are read as the task's uid")
	fl.DurationVar(&f.evictGrace, "eviction-grace", agent.DefaultEvictionGrace, "SIGTERM→SIGKILL grace of an eviction, whatever the task asked for")
	fl.IntVar(&f.oomScoreAdj, "task-oom-score-adj", executor.DefaultOOMScoreAdj, "oom_score_adj of every task (-1000..1000): high, so the kernel kills batch before the business")
	fl.BoolVar(&f.allowRoot, "allow-root-tasks", false, "let tasks run as root (uid 0); off, a task asking for root is refused")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the agent's credential, sent to the master (a master's generated one is DATA_DIR/credentials/agent.token); also required by the local API unless --api-token-file")
	fl.StringVar(&f.apiTokenFile, "api-token-file", "", "file holding the bearer token the local API requires (except /metrics and /healthz): the master's --agent-api-token-file, for per-agent credentials (default: --token-file)")
	fl.StringVar(&f.caFile, "ca-file", "", "PEM CA certificate to trust when the masters serve TLS")
	fl.BoolVar(&f.cleanupOnStop, "cleanup-on-stop", false, "on stop, kill every task and remove the batch cgroups instead of leaving them running for the next agent to re-adopt (see above for what stays without it)")
	return cmd
}

// parseKV parses k=v,k=v; errors name the flag and the item.
func parseKV(flag, s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, item := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--%s: %q is not key=value", flag, item)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("--%s: key %q given twice", flag, k)
		}
		out[k] = v
	}
	return out, nil
}

// parseDedicated parses cpus=N,mem=SIZE,disk=SIZE.
func parseDedicated(s string) (resources.Resources, error) {
	kv, err := parseKV("dedicated", s)
	if err != nil {
		return resources.Resources{}, err
	}
	var r resources.Resources
	for k, v := range kv {
		switch k {
		case "cpus":
			c, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return r, fmt.Errorf("--dedicated cpus: %q is not a number of cores", v)
			}
			r.CPUs = c
		case "mem", "disk":
			b, err := resources.ParseBytes(v)
			if err != nil {
				return r, fmt.Errorf("--dedicated %s: %w", k, err)
			}
			if k == "mem" {
				r.MemBytes = b
			} else {
				r.Disk = b
			}
		default:
			return r, fmt.Errorf("--dedicated: unknown resource %q (want cpus, mem, disk)", k)
		}
	}
	if err := r.Validate(); err != nil {
		return r, fmt.Errorf("--dedicated: %w", err)
	}
	return r, nil
}

func readToken(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("--token-file %s: empty", path)
	}
	return t, nil
}

// readPrivateToken reads a daemon's --token-file (none when path is
// empty), refusing one that others may read (auth.ReadPrivateToken).
func readPrivateToken(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	t, err := auth.ReadPrivateToken(path)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	return t, nil
}

// runAgent runs the agent and its HTTP server until ctx is done.
func runAgent(ctx context.Context, f *agentFlags, log *slog.Logger, ready func(net.Addr)) error {
	attrs, err := parseKV("attributes", f.attributes)
	if err != nil {
		return err
	}
	dedicated, err := parseDedicated(f.dedicated)
	if err != nil {
		return err
	}
	token, err := readPrivateToken(f.tokenFile)
	if err != nil {
		return err
	}
	apiToken := token
	if f.apiTokenFile != "" {
		if apiToken, err = auth.ReadPrivateToken(f.apiTokenFile); err != nil {
			return fmt.Errorf("--api-token-file: %w", err)
		}
	}
	policy := estimate.DefaultPolicy()
	if f.policy != nil {
		policy = *f.policy
	} else if f.mon.policyFile != "" {
		if policy, err = loadPolicyFlag(f.mon.policyFile); err != nil {
			return err
		}
	}
	uidRange := executor.DefaultUIDRange
	if f.uidRange != "" {
		if uidRange, err = executor.ParseUIDRange(f.uidRange); err != nil {
			return fmt.Errorf("--task-uid-range: %w", err)
		}
	}
	// Traversable but not listable: tasks run as --task-user must reach
	// their sandboxes below it.
	if err := os.MkdirAll(f.workDir, 0o711); err != nil {
		return fmt.Errorf("--work-dir: %w", err)
	}
	// Locked first: a second agent on this work dir would take the first
	// one's identity (agent_id) and its tasks' checkpoints.
	lock, err := dirlock.Acquire(f.workDir, "work dir", "agent")
	if err != nil {
		return err
	}
	defer lock.Release()
	if err := os.Chmod(f.workDir, 0o711); err != nil {
		return fmt.Errorf("--work-dir: %w", err)
	}
	h, err := cgroup.Open(cgroup.Config{Root: f.mon.cgroupRoot})
	if err != nil {
		return fmt.Errorf("the agent needs a cgroup hierarchy: %w", err)
	}
	if f.user != "-" && os.Geteuid() == 0 {
		var nt *notTraversableError
		if err := checkTraversable(f.workDir); errors.As(err, &nt) {
			return fmt.Errorf("--work-dir: %w, so tasks run as an unprivileged user could not reach their sandboxes below it: chmod o+x %s, choose another --work-dir, or run tasks as root (--task-user - --allow-root-tasks)", err, nt.path)
		} else if err != nil {
			return fmt.Errorf("--work-dir: %w", err)
		}
	}
	hostname := f.hostname
	if hostname == "" {
		if hostname, err = os.Hostname(); err != nil {
			return fmt.Errorf("hostname: %w", err)
		}
	}

	reg := exporter.NewRegistry()
	obs, err := exporter.NewSampleObserver(reg)
	if err != nil {
		return err
	}
	// The listener is bound before the agent registers, so that the URL
	// it advertises is the real one (with --listen :0 too).
	listen, derived := f.mon.listen, f.mon.listen == ""
	if derived {
		if listen, err = defaultAgentListen(f.advertise, hostname); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return listenError(f.mon.listenFlag, listen, err)
	}
	defer ln.Close()
	advertise, err := advertiseURL(f.advertise, listen, ln.Addr())
	if err != nil {
		return err
	}
	if h, _, _ := net.SplitHostPort(listen); f.advertise == "" && (derived || h == "" || h == "0.0.0.0" || h == "::") {
		// Register under the hostname given with --hostname, if any.
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		advertise = "http://" + net.JoinHostPort(hostname, port)
	}

	var mc *agent.MasterClient
	if f.masters != "" {
		client, err := httpClient("ca-file", f.caFile, 10*time.Second)
		if err != nil {
			return err
		}
		mc, err = agent.NewMasterClient(agent.MasterConfig{
			URLs: strings.Split(f.masters, ","), IDFile: filepath.Join(f.workDir, "agent_id"),
			Token: token, HTTPClient: client, Logger: log,
		})
		if err != nil {
			return err
		}
	}
	services, err := parseServices(f.mon.services, h)
	if err != nil {
		return err
	}
	a, err := agent.New(agent.Config{
		Hostname: hostname, URL: advertise, Version: exporter.Version,
		Attributes: attrs, Dedicated: dedicated,
		Hierarchy: h, BatchCgroup: f.mon.batchCgroup, CPUFloor: f.cpuFloor,
		Monitor:  monitor.Config{Policy: policy, Observer: obs, Logger: log},
		Services: services,
		Executor: executor.Config{WorkDir: filepath.Join(f.workDir, "executor"), User: f.user,
			TaskUsers: f.taskUsers, AllowRootTasks: f.allowRoot, UIDRange: uidRange, FetchAllowDirs: f.fetchAllow, OOMScoreAdj: f.oomScoreAdj, Logger: log},
		Master: mc, CleanupOnStop: f.cleanupOnStop, Logger: log,
	})
	if err != nil {
		return err
	}
	reg.MustRegister(exporter.NewMonitorCollector(a.Monitor()), exporter.NewAgentCollector(a, log))

	handler := httpserver.BearerAuth(apiToken, agentAPIHint, a.Routes(exporter.Handler(reg)), "/metrics", "/healthz")

	grp, gctx := errgroup.WithContext(ctx)
	grp.Go(func() error { return a.Run(gctx) })
	grp.Go(func() error { return releaseInitPagesLater(gctx, log) })
	grp.Go(func() error {
		return httpserver.Serve(gctx, httpserver.Config{
			Listener: ln, WebConfigFile: f.mon.webConfig, Handler: handler, Logger: log,
			Ready: func(addr net.Addr) {
				log.Info("agent serving", "api", "http://"+addr.String()+"/api/v1/state", "advertise", advertise, "masters", f.masters, "work_dir", f.workDir)
				if ready != nil {
					ready(addr)
				}
			},
		})
	})
	err = grp.Wait()
	log.Info("agent stopped", "cleanup", f.cleanupOnStop)
	return err
}

// defaultAgentPort is the agent's port when neither --listen nor
// --advertise-url names one.
const defaultAgentPort = "5051"

// defaultAgentListen is where an agent listens without --listen: the
// address it advertises, so that its API is not open on every interface
// of the host by default.
func defaultAgentListen(advertise, hostname string) (string, error) {
	if advertise == "" {
		return net.JoinHostPort(hostname, defaultAgentPort), nil
	}
	u, err := url.Parse(advertise)
	if err != nil || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("--advertise-url %q: want http(s)://HOST[:PORT]", advertise)
	}
	port := u.Port()
	switch {
	case port != "":
	case u.Scheme == "https":
		port = "443"
	default:
		port = "80"
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// agentAPIHint is what a refused caller of the agent's API is told: the
// operator's token, which works on the master, is not the agent's.
const agentAPIHint = "send Authorization: Bearer TOKEN with this agent's token: its --api-token-file, else its --token-file (a master creates DATA_DIR/credentials/agent.token); the operator's token is the master's only"

// notTraversableError names the directory that others cannot enter.
type notTraversableError struct {
	path string
	mode os.FileMode
}

func (e *notTraversableError) Error() string {
	return fmt.Sprintf("%s (mode %o) is not traversable by others", e.path, e.mode)
}

// checkTraversable reports the first ancestor of dir that others cannot
// enter.
func checkTraversable(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for p := abs; ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o001 == 0 {
			return &notTraversableError{path: p, mode: st.Mode().Perm()}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}
