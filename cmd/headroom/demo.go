package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/headroom-dev/headroom/internal/auth"
	"github.com/headroom-dev/headroom/monitor/estimate"
)

// demoApp is the sample app: a batch loop that reports what it runs on.
const demoApp = `{
  "id": "/demo/harvester",
  "cmd": "while true; do echo \"running on harvested capacity: $(date)\"; sleep 5; done",
  "cpus": 0.1, "mem": 32, "instances": 1, "revocable": true,
  "labels": {"owner": "demo"}
}`

type demoFlags struct {
	masterListen string
	agentListen  string
	keep         bool
	// binary is the path of this executable, for the commands the demo
	// prints.
	binary string
}

func newDemoCommand(g *globalFlags) *cobra.Command {
	f := &demoFlags{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a master (embedded etcd) and an agent on localhost with a sample app",
		Long: `Run the whole system on this machine: a master with an embedded etcd in a
temporary directory, an agent hosting the monitor, and a sample app placed
on the harvested capacity. The URLs to look at are printed. Ctrl-C stops
everything, kills the app's tasks and removes the cgroups and the temporary
directory. Needs root (cgroups).

The sample app is revocable: it runs only once the agent harvests capacity
the host leaves idle. The demo's policy lets the estimate grow after 5 s
instead of a minute, but how soon there is harvest depends on the host;
until the app runs, the demo prints every few seconds what the agent
harvests, what bounds that and what the bound means, and where the app
stands.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if exe, err := os.Executable(); err == nil {
				f.binary = exe
			}
			return demoPortHint(runDemo(cmd.Context(), f, log, cmd.OutOrStdout()))
		},
	}
	cmd.Flags().StringVar(&f.masterListen, "master-listen", "127.0.0.1:5050", "master address")
	cmd.Flags().StringVar(&f.agentListen, "agent-listen", "127.0.0.1:5051", "agent address")
	cmd.Flags().BoolVar(&f.keep, "keep", false, "keep the temporary data directory after stopping")
	return cmd
}

// demoPortHint adds to a taken port how to pass the flags it names
// through make: `make demo` is how the README starts the demo.
func demoPortHint(err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%w\nwith make: make demo DEMO_FLAGS='--master-listen 127.0.0.1:PORT --agent-listen 127.0.0.1:PORT'", err)
	}
	return err
}

func runDemo(ctx context.Context, f *demoFlags, log *slog.Logger, out io.Writer) error {
	dir, err := os.MkdirTemp("", "headroom-demo-")
	if err != nil {
		return err
	}
	if !f.keep {
		defer os.RemoveAll(dir)
	}
	// Tasks run as nobody and must reach their sandboxes inside.
	if err := os.Chmod(dir, 0o711); err != nil {
		return err
	}
	policy := estimate.DefaultPolicy()
	policy.Grow.GrowAfter = model.Duration(5 * time.Second)

	grp, gctx := errgroup.WithContext(ctx)
	masterURL := make(chan string, 1)
	grp.Go(func() error {
		return runMaster(gctx, &masterFlags{listen: f.masterListen, listenFlag: "master-listen", dataDir: dir + "/master",
			heartbeatInterval: time.Second, agentTimeout: 10 * time.Second, electionTTL: 2 * time.Second},
			demoLog(log, "master"), func(u string) { masterURL <- u })
	})
	var mURL string
	select {
	case mURL = <-masterURL:
	case <-gctx.Done():
		return grp.Wait()
	}
	// The master generated its credentials before serving: the agent
	// registers with the agent one, the sample app goes in with the
	// operator's.
	creds := credentialsDir(dir + "/master")
	operatorToken, err := auth.ReadToken(auth.TokenFile(creds, auth.Operator))
	if err != nil {
		return err
	}
	agentAddr := make(chan net.Addr, 1)
	grp.Go(func() error {
		af := &agentFlags{masters: mURL, workDir: dir + "/agent", hostname: "localhost", cpuFloor: 0.1,
			cleanupOnStop: true, policy: &policy, tokenFile: auth.TokenFile(creds, auth.Agent)}
		af.mon = monitorFlags{listen: f.agentListen, listenFlag: "agent-listen", procRoot: "/proc", cgroupRoot: "/sys/fs/cgroup", batchCgroup: "headroom-demo/batch"}
		return runAgent(gctx, af, demoLog(log, "agent"), func(a net.Addr) { agentAddr <- a })
	})
	var aAddr net.Addr
	select {
	case aAddr = <-agentAddr:
	case <-gctx.Done():
		return grp.Wait()
	}
	grp.Go(func() error {
		if err := deployDemoApp(gctx, mURL, operatorToken); err != nil {
			log.Error("deploying the sample app", "err", err)
			return nil
		}
		writeDemoBanner(out, mURL, aAddr.String(), f.binary, auth.TokenFile(creds, auth.Operator), auth.TokenFile(creds, auth.Agent))
		writeDemoUI(out, mURL, auth.TokenFile(creds, auth.Operator))
		agentToken, err := auth.ReadToken(auth.TokenFile(creds, auth.Agent))
		if err != nil {
			return err
		}
		return demoProgress(gctx, out, demoEndpoints{masterURL: mURL, masterToken: operatorToken,
			agentURL: "http://" + aAddr.String(), agentToken: agentToken}, demoTick)
	})
	err = grp.Wait()
	fmt.Fprintln(out, "headroom demo stopped; tasks killed, cgroups removed")
	return err
}

// writeDemoBanner prints where to look, with commands that work as
// printed: bin is this binary's path, since `make demo` runs bin/headroom
// and a bare "headroom" is usually not on the PATH.
func writeDemoBanner(out io.Writer, masterURL, agentAddr, bin, operatorFile, agentFile string) {
	if bin == "" {
		bin = "headroom"
	}
	fmt.Fprintf(out, `
headroom demo is running (Ctrl-C stops it and cleans up):
  master API      %[1]s/api/v1/state
  apps            %[1]s/v2/apps   (sample app /demo/harvester)
  master metrics  %[1]s/metrics
  agent state     http://%[2]s/api/v1/state
  agent metrics   http://%[2]s/metrics
  estimate        http://%[2]s/api/v1/estimate
The APIs need a credential (metrics do not); the CLI takes the operator's,
the agent's API the agent's:
  export HEADROOM_MASTER=%[1]s HEADROOM_TOKEN_FILE=%[3]s
  %[5]s apps ls; %[5]s tasks ls
  curl -s -H "Authorization: Bearer $(cat %[3]s)" %[1]s/api/v1/state
  curl -s -H "Authorization: Bearer $(cat %[4]s)" http://%[2]s/api/v1/estimate
The sample app is revocable: it starts once the agent harvests idle capacity.
`, masterURL, agentAddr, operatorFile, agentFile, bin)
}

// writeDemoUI prints where the web UI is and the token it asks for.
func writeDemoUI(out io.Writer, masterURL, operatorFile string) {
	fmt.Fprintf(out, "The web UI: %s/ui/ (paste the operator's token from %s: cat it)\n", masterURL, operatorFile)
}

// demoLog tells the demo's master and agent apart in their shared log by
// "process": "component" is the key their parts (store, executor) set
// themselves, and slog would print it twice.
func demoLog(log *slog.Logger, process string) *slog.Logger {
	return log.With("process", process)
}

// demoTick is how often the demo reports progress.
const demoTick = 3 * time.Second

// demoStatus is what the demo reads of the app and the agent.
type demoStatus struct {
	harvestCPUs float64
	harvestMem  uint64
	cpuReason   string
	running     int
	staged      int
	waiting     int
	reason      string
	err         error
}

// line is the progress line for the terminal.
func (s demoStatus) line() string {
	if s.err != nil {
		return "waiting: " + s.err.Error()
	}
	harvest := fmt.Sprintf("harvest now %.2f cpus, %.0f MiB", s.harvestCPUs, float64(s.harvestMem)/(1<<20))
	if s.cpuReason != "" {
		harvest += " (cpu bound by " + s.cpuReason + ")"
	}
	app := fmt.Sprintf("/demo/harvester: %d running, %d staged, %d waiting", s.running, s.staged, s.waiting)
	if s.reason != "" {
		app += ": " + s.reason
	}
	if s.running > 0 {
		return "running: " + harvest + "; " + app
	}
	return "waiting: " + harvest + "; " + app
}

// demoEndpoints are the APIs the demo's progress reads, with their
// credentials.
type demoEndpoints struct {
	masterURL, masterToken string
	agentURL, agentToken   string
}

// demoProgress prints a progress line every tick while the sample app is
// not running, and one line each time it starts or stops running, until
// ctx is done.
func demoProgress(ctx context.Context, out io.Writer, ep demoEndpoints, tick time.Duration) error {
	client := &http.Client{Timeout: 5 * time.Second}
	wasRunning := false
	explained := ""
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		st := readDemoStatus(ctx, client, ep)
		if ctx.Err() != nil {
			return nil
		}
		switch running := st.err == nil && st.running > 0; {
		case running && !wasRunning:
			fmt.Fprintln(out, st.line())
			fmt.Fprintln(out, "the sample app runs on harvested capacity; Ctrl-C stops the demo")
		case !running:
			fmt.Fprintln(out, st.line())
			// What the bound means, once each time it changes: the
			// reason names a policy stage a new user has not met yet.
			if st.err == nil && st.cpuReason != explained {
				if why := cpuBoundMeaning(st.cpuReason); why != "" {
					fmt.Fprintf(out, "  cpu bound by %s: %s\n", st.cpuReason, why)
				}
				explained = st.cpuReason
			}
		}
		wasRunning = st.err == nil && st.running > 0
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// cpuBoundMeaning says in a line what an estimate's cpu_reason means for
// the demo's app (docs/policy.md has the detail); "" for a reason it does
// not know.
func cpuBoundMeaning(reason string) string {
	switch estimate.Reason(reason) {
	case estimate.ReasonDegraded:
		return "the agent cannot sample the host, so it lends nothing (fail safe)"
	case estimate.ReasonPressure:
		return "the host's CPU or memory is contended (PSI): other work needs it, so nothing more is lent until the host calms down"
	case estimate.ReasonGrowth:
		return "the host must stay quiet for grow_after (5 s in the demo) before more is lent, then the harvest grows step by step"
	case estimate.ReasonPredictor:
		return "the business peak predicted from recent use leaves no more idle CPU to lend"
	case estimate.ReasonReserve:
		return "the policy's reserve is kept for the business and the rest is in use"
	case estimate.ReasonCeiling:
		return "the policy's max_utilization is reached"
	}
	return ""
}

func readDemoStatus(ctx context.Context, client *http.Client, ep demoEndpoints) demoStatus {
	var st demoStatus
	var est struct {
		CPUs      float64 `json:"harvestable_cpus"`
		Mem       uint64  `json:"harvestable_mem_bytes"`
		CPUReason string  `json:"cpu_reason"`
	}
	if st.err = getDemoJSON(ctx, client, ep.agentURL+"/api/v1/estimate", ep.agentToken, &est); st.err != nil {
		return st
	}
	st.harvestCPUs, st.harvestMem, st.cpuReason = est.CPUs, est.Mem, est.CPUReason
	var app struct {
		App struct {
			Running     int    `json:"tasksRunning"`
			Staged      int    `json:"tasksStaged"`
			Waiting     int    `json:"tasksWaiting"`
			Reason      string `json:"reason"`
			LastFailure string `json:"lastTaskFailure"`
		} `json:"app"`
	}
	if st.err = getDemoJSON(ctx, client, ep.masterURL+"/v2/apps/demo/harvester", ep.masterToken, &app); st.err != nil {
		return st
	}
	st.running, st.staged, st.waiting = app.App.Running, app.App.Staged, app.App.Waiting
	st.reason = app.App.Reason
	if st.reason == "" && app.App.LastFailure != "" {
		st.reason = "last failure: " + app.App.LastFailure
	}
	return st
}

func getDemoJSON(ctx context.Context, client *http.Client, url, token string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// deployDemoApp posts the sample app, retrying while the master is still
// electing itself.
func deployDemoApp(ctx context.Context, masterURL, token string) error {
	var last error
	for range 60 {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, masterURL+"/v2/apps", bytes.NewReader([]byte(demoApp)))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusCreated, http.StatusConflict:
				return nil
			}
			err = fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return last
}
