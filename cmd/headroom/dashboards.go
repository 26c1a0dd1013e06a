package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/headroom-dev/headroom/dashboards"
)

// dashboardsFlags are the flags of `headroom dashboards`.
type dashboardsFlags struct {
	out        string
	grafanaURL string
	tokenFile  string
	folderUID  string
	caFile     string
	timeout    time.Duration
}

// newDashboardsCommand writes headroom's Grafana dashboards to a directory,
// uploads them to Grafana, or both.
func newDashboardsCommand() *cobra.Command {
	f := &dashboardsFlags{}
	cmd := &cobra.Command{
		Use:   "dashboards",
		Short: "Write headroom's Grafana dashboards to files or upload them to Grafana",
		Long: `Write headroom's Grafana dashboards (Grafana 10 or later) as JSON files,
or upload them through Grafana's HTTP API, replacing earlier versions with
the same uid (headroom-fleet, headroom-host, headroom-master, headroom-churn).

  headroom dashboards --out DIR
  headroom dashboards --grafana-url URL --token-file F [--folder-uid X]

The token is a Grafana service account token allowed to write dashboards.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDashboards(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "", "directory to write the dashboard JSON files to (created if missing)")
	fl.StringVar(&f.grafanaURL, "grafana-url", "", "Grafana base URL to upload the dashboards to, e.g. https://grafana.example.com")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the Grafana service account token (required with --grafana-url)")
	fl.StringVar(&f.folderUID, "folder-uid", "", "uid of the Grafana folder to upload into (default: General)")
	fl.StringVar(&f.caFile, "ca-file", "", "PEM CA certificate to trust when Grafana serves TLS")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Second, "timeout of each upload request")
	return cmd
}

func runDashboards(cmd *cobra.Command, f *dashboardsFlags) error {
	if f.out == "" && f.grafanaURL == "" {
		return errors.New("one of --out or --grafana-url is required")
	}
	if f.grafanaURL == "" {
		for _, name := range []string{"token-file", "folder-uid", "ca-file"} {
			if cmd.Flags().Changed(name) {
				return fmt.Errorf("--%s only applies with --grafana-url", name)
			}
		}
	}
	// Check everything the upload needs before writing anything, so a
	// mistyped flag does not leave half the work done.
	var token string
	if f.grafanaURL != "" {
		if f.tokenFile == "" {
			return errors.New("--grafana-url needs --token-file (a Grafana service account token)")
		}
		var err error
		if token, err = readToken(f.tokenFile); err != nil {
			return err
		}
	}
	if f.timeout <= 0 {
		return fmt.Errorf("--timeout: want a positive duration, got %s", f.timeout)
	}

	all := dashboards.All()
	w := cmd.OutOrStdout()
	if f.out != "" {
		if err := dashboards.Write(f.out); err != nil {
			return fmt.Errorf("--out %s: %w", f.out, err)
		}
		fmt.Fprintf(w, "wrote %d dashboards to %s\n", len(all), f.out)
	}
	if f.grafanaURL != "" {
		client, err := httpClient("ca-file", f.caFile, f.timeout)
		if err != nil {
			return err
		}
		if err := dashboards.UploadToFolder(cmd.Context(), f.grafanaURL, token, f.folderUID, client, all); err != nil {
			return fmt.Errorf("--grafana-url %s: %w", f.grafanaURL, err)
		}
		for _, d := range all {
			fmt.Fprintf(w, "uploaded %s (%s)\n", d.UID, d.Title)
		}
	}
	return nil
}
