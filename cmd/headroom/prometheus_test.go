package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// The end-to-end check of the monitoring story: a real Prometheus scrapes a
// master and an agent with headroom's rules loaded; flipping the agent's
// reservation override creates churn, and the churn alert goes pending or
// firing, as seen through Prometheus's HTTP API.
func TestPrometheusChurnAlert(t *testing.T) {
	prom := testutil.NeedCommand(t, "prometheus", "prometheus")
	c := newCluster(t)
	mAddr, aAddr, pAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	c.startMaster(mAddr)
	master := "http://" + mAddr
	var err error
	if c.client, err = agentproto.NewClient(master, c.token); err != nil {
		t.Fatal(err)
	}
	c.startAgentAt("agent-prom", master, aAddr)
	c.waitAgents(1)

	rules, err := filepath.Abs(filepath.Join("..", "..", "alerts", "headroom-alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: headroom-master
    static_configs: [{targets: [%q]}]
  - job_name: headroom-agent
    static_configs: [{targets: [%q]}]
`, rules, mAddr, aAddr)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	startProc(t, prom, "--config.file", filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path", filepath.Join(dir, "data"),
		"--web.listen-address", pAddr)
	promURL := "http://" + pAddr

	// Both targets up, as Prometheus sees them.
	testutil.Eventually(t, 60*time.Second, 500*time.Millisecond, func() bool {
		var out struct {
			Data struct {
				Result []struct {
					Value []any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := getJSON(promURL+`/api/v1/query?query=sum(up{job=~"headroom-.*"})`, &out); err != nil || len(out.Data.Result) == 0 {
			return false
		}
		return fmt.Sprint(out.Data.Result[0].Value[1]) == "2"
	}, "Prometheus scraping the master and the agent")

	// Churn: flip the override every 250 ms until the alert shows up.
	agentToken := c.read(c.agentTokenFile)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for i := 0; ctx.Err() == nil; i++ {
			body := fmt.Sprintf(`{"mode":"fixed","cpus":%d,"mem_bytes":%d}`, 1+i%2, (1+i%2)<<30)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+aAddr+"/api/v1/reservation", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+agentToken)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
			select {
			case <-ctx.Done():
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	var state string
	testutil.Eventually(t, 120*time.Second, time.Second, func() bool {
		var out struct {
			Data struct {
				Alerts []struct {
					Labels map[string]string `json:"labels"`
					State  string            `json:"state"`
				} `json:"alerts"`
			} `json:"data"`
		}
		if err := getJSON(promURL+"/api/v1/alerts", &out); err != nil {
			return false
		}
		for _, a := range out.Data.Alerts {
			if a.Labels["alertname"] == "HeadroomReservationChurnHigh" {
				state = a.State
				return true
			}
		}
		return false
	}, "HeadroomReservationChurnHigh pending or firing")
	t.Logf("HeadroomReservationChurnHigh is %s", state)
}

func getJSON(url string, out any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
