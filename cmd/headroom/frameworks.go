package main

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/headroom-dev/headroom/api/agentproto"
)

func newFrameworksCommand() *cobra.Command {
	f := &cliFlags{}
	cmd := &cobra.Command{
		Use:   "frameworks",
		Short: "List and tear down the external frameworks",
		Long: `External frameworks subscribe to the master's scheduler API
(docs/frameworks.md). A disconnected framework keeps its tasks until its
failover timeout; teardown removes it at once and kills its tasks.`,
	}
	f.register(cmd)
	cmd.AddCommand(&cobra.Command{
		Use: "ls", Short: "List the frameworks", Args: cobra.NoArgs,
		RunE: f.run(func(ctx context.Context, c *agentproto.Client, cmd *cobra.Command, _ []string) error {
			var list []struct {
				ID              string    `json:"id"`
				Name            string    `json:"name"`
				Role            string    `json:"role"`
				Revocable       bool      `json:"revocable"`
				Connected       bool      `json:"connected"`
				FailoverTimeout float64   `json:"failover_timeout_seconds"`
				DisconnectedAt  time.Time `json:"disconnected_at"`
				Tasks           int       `json:"active_tasks"`
				Unacknowledged  int       `json:"unacknowledged_updates"`
				Reason          string    `json:"reason"`
			}
			if err := c.Do(ctx, "GET", "/api/v1/frameworks", nil, &list); err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), list, []string{"ID", "NAME", "ROLE", "REVOCABLE", "CONNECTED", "TASKS", "UNACKED", "FAILOVER", "REASON"}, func() [][]string {
				var rows [][]string
				for _, fw := range list {
					conn := "yes"
					if !fw.Connected {
						conn = "no, since " + fw.DisconnectedAt.Format(time.RFC3339)
					}
					rows = append(rows, []string{fw.ID, fw.Name, fw.Role, strconv.FormatBool(fw.Revocable), conn,
						strconv.Itoa(fw.Tasks), strconv.Itoa(fw.Unacknowledged), time.Duration(fw.FailoverTimeout * float64(time.Second)).String(), fw.Reason})
				}
				return rows
			})
		}),
	})
	cmd.AddCommand(&cobra.Command{
		Use: "teardown ID", Short: "Remove a framework and kill its tasks", Args: cobra.ExactArgs(1),
		RunE: f.run(func(ctx context.Context, c *agentproto.Client, cmd *cobra.Command, args []string) error {
			if err := c.Do(ctx, "POST", "/api/v1/frameworks/"+url.PathEscape(args[0])+"/teardown", nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "framework %s torn down: its tasks are being killed\n", args[0])
			return nil
		}),
	})
	return cmd
}
