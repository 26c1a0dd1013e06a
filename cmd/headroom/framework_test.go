package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// batchQueueReport is what examples/batchqueue writes with --report.
type batchQueueReport struct {
	FrameworkID     string `json:"framework_id"`
	Subscriptions   int    `json:"subscriptions"`
	Reconciliations int    `json:"reconciliations"`
	TornDown        bool   `json:"torn_down"`
	Tasks           []struct {
		Index    int    `json:"index"`
		Agent    string `json:"agent"`
		State    string `json:"state"`
		Attempts int    `json:"attempts"`
	} `json:"tasks"`
	Offers []struct {
		Subscription int       `json:"subscription"`
		Agent        string    `json:"agent"`
		At           time.Time `json:"at"`
	} `json:"offers"`
	Declines []struct {
		Subscription  int       `json:"subscription"`
		Agent         string    `json:"agent"`
		At            time.Time `json:"at"`
		RefuseSeconds float64   `json:"refuse_seconds"`
	} `json:"declines"`
	Revives []time.Time `json:"revives"`
}

// The framework API end to end: the example batch queue subscribes to a
// real master, launches 20 commands across two real agents, declines what
// it does not need with a filter that the master honours, sees every
// command finish, and gets through a master restart in the middle by
// re-subscribing with its id and reconciling.
func TestFrameworkEndToEnd(t *testing.T) {
	c := newCluster(t)
	example := filepath.Join(t.TempDir(), "batchqueue")
	build := exec.Command("go", "build", "-o", example, "../../examples/batchqueue")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the example framework: %v\n%s", err, out)
	}

	addr := freeAddr(t)
	dataDir := t.TempDir()
	base, master := c.startClientMaster(addr, "--data-dir", dataDir)
	// Dedicated capacity besides the harvest: the test must not depend on
	// how idle this machine is.
	c.startAgentAt("agent-f1", base, freeAddr(t), "--dedicated", "cpus=1,mem=1GiB")
	c.startAgentAt("agent-f2", base, freeAddr(t), "--dedicated", "cpus=1,mem=1GiB")
	c.waitAgents(2)

	reportPath := filepath.Join(t.TempDir(), "report.json")
	// 20 × 0.05 cores is half the dedicated capacity, so whatever the
	// harvest, offers keep coming with room the queue has no use for once
	// every command is placed (the first after the 5 s filter of its
	// accept, or at once from the restarted master): it must decline them.
	// The commands outlast that.
	fw := startProc(t, example, "--master", base, "--name", "e2e-queue", "--count", "20", "--command", "sleep 8",
		"--cpus", "0.05", "--mem", "16", "--refuse", "20s", "--failover-timeout", "2m", "--timeout", "3m", "--report", reportPath,
		"--token-file", c.frameworkTokenFile)

	// Restart the master while the commands run.
	testutil.Eventually(t, 60*time.Second, 100*time.Millisecond, func() bool {
		var tasks []struct {
			State string `json:"state"`
		}
		if c.get("/api/v1/tasks", &tasks) != nil {
			return false
		}
		n := 0
		for _, tk := range tasks {
			if tk.State == string(api.TaskRunning) {
				n++
			}
		}
		return n >= 10
	}, "the framework's tasks running")
	master.stop(t)
	c.startMaster(addr, "--data-dir", dataDir)

	// The restarted master knows the framework from etcd.
	testutil.Eventually(t, 30*time.Second, 200*time.Millisecond, func() bool {
		out, err := exec.Command(c.bin, "frameworks", "ls", "--master", base, "-o", "json", "--token-file", c.operatorTokenFile).Output()
		return err == nil && strings.Contains(string(out), `"name": "e2e-queue"`)
	}, "the framework listed by `headroom frameworks ls` after the restart")

	select {
	case err := <-fw.exited:
		if err != nil {
			t.Fatalf("the framework failed: %v\n%s", err, fw.stderr.String())
		}
	case <-time.After(4 * time.Minute):
		t.Fatalf("the framework did not finish its queue:\n%s", fw.stderr.String())
	}

	raw, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep batchQueueReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, raw)
	}
	agents := map[string]int{}
	for _, tk := range rep.Tasks {
		if tk.State != "TASK_FINISHED" {
			t.Errorf("command %d ended %s after %d attempts", tk.Index, tk.State, tk.Attempts)
		}
		agents[tk.Agent]++
	}
	if len(rep.Tasks) != 20 || len(agents) != 2 {
		t.Logf("framework log:\n%s", fw.stderr.String())
		t.Errorf("%d commands over agents %v: want 20 across both agents", len(rep.Tasks), agents)
	}
	if rep.Subscriptions < 2 || rep.Reconciliations < 1 || !rep.TornDown {
		t.Errorf("subscriptions %d, reconciliations %d, torn down %v: want a re-subscription and a reconciliation after the restart, then a teardown",
			rep.Subscriptions, rep.Reconciliations, rep.TornDown)
	}
	// Declined agents are not offered again within the filter (the filters
	// live in the leader's memory, so only within one subscription, and
	// until the framework revives).
	if len(rep.Declines) == 0 {
		t.Error("the framework never declined an offer")
	}
	for _, d := range rep.Declines {
		until := d.At.Add(time.Duration(d.RefuseSeconds * float64(time.Second)))
		if i := slices.IndexFunc(rep.Revives, func(r time.Time) bool { return r.After(d.At) && r.Before(until) }); i >= 0 {
			until = rep.Revives[i]
		}
		for _, o := range rep.Offers {
			if o.Subscription == d.Subscription && o.Agent == d.Agent && o.At.After(d.At.Add(500*time.Millisecond)) && o.At.Before(until) {
				t.Errorf("agent %s offered at %s, inside the filter declined at %s for %gs", o.Agent, o.At.Format(time.StampMilli),
					d.At.Format(time.StampMilli), d.RefuseSeconds)
			}
		}
	}
	var frameworks []map[string]any
	if err := c.get("/api/v1/frameworks", &frameworks); err != nil || len(frameworks) != 0 {
		t.Errorf("frameworks after the teardown: %v %v", frameworks, err)
	}
	t.Logf("20 commands: per agent %v; %d subscriptions, %d offers, %d declines", agents, rep.Subscriptions, len(rep.Offers), len(rep.Declines))
}
