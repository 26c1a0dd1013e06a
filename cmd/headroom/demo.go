package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/headroom-dev/headroom/internal/auth"
	"github.com/headroom-dev/headroom/monitor"
)

// demoApp is the sample app: a batch loop that reports what it runs on.
const demoApp = `{
  "id": "/demo/harvester",
  "cmd": "while true; do echo \"running on harvested capacity: $(date)\"; sleep 5; done",
  "cpus": 0.1, "mem": 32, "instances": 1,
  "labels": {"owner": "demo"}
}`

type demoFlags struct {
	masterListen string
	agentListen  string
	keep         bool
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

The demo's policy grows the estimate after 5 s instead of a minute, so the
app starts quickly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			return runDemo(cmd.Context(), f, log, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&f.masterListen, "master-listen", "127.0.0.1:5050", "master address")
	cmd.Flags().StringVar(&f.agentListen, "agent-listen", "127.0.0.1:5051", "agent address")
	cmd.Flags().BoolVar(&f.keep, "keep", false, "keep the temporary data directory after stopping")
	return cmd
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
	policy := monitor.DefaultPolicy()
	policy.Grow.GrowAfter = model.Duration(5 * time.Second)

	grp, gctx := errgroup.WithContext(ctx)
	masterURL := make(chan string, 1)
	grp.Go(func() error {
		return runMaster(gctx, &masterFlags{listen: f.masterListen, dataDir: dir + "/master",
			heartbeatInterval: time.Second, agentTimeout: 10 * time.Second, electionTTL: 2 * time.Second},
			log.With("component", "master"), func(u string) { masterURL <- u })
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
		af.mon = monitorFlags{listen: f.agentListen, procRoot: "/proc", cgroupRoot: "/sys/fs/cgroup", batchCgroup: "headroom-demo/batch"}
		return runAgent(gctx, af, log.With("component", "agent"), func(a net.Addr) { agentAddr <- a })
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
		fmt.Fprintf(out, `
headroom demo is running (Ctrl-C stops it and cleans up):
  master API      %[1]s/api/v1/state
  apps            %[1]s/v2/apps   (sample app /demo/harvester)
  master metrics  %[1]s/metrics
  agent state     http://%[2]s/api/v1/state
  agent metrics   http://%[2]s/metrics
  estimate        http://%[2]s/api/v1/estimate
The APIs need a credential (metrics do not); the CLI takes the operator's:
  export HEADROOM_TOKEN_FILE=%[3]s
  headroom apps ls --master %[1]s
  curl -H "Authorization: Bearer $(cat %[3]s)" %[1]s/api/v1/state
  curl -H "Authorization: Bearer $(cat %[4]s)" http://%[2]s/api/v1/estimate
The sample app starts once the estimate has grown (about 5 s).
`, mURL, aAddr, auth.TokenFile(creds, auth.Operator), auth.TokenFile(creds, auth.Agent))
		return nil
	})
	err = grp.Wait()
	fmt.Fprintln(out, "headroom demo stopped; tasks killed, cgroups removed")
	return err
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
