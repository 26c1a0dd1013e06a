package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/master/core"
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
	var builtin bool
	ls := &cobra.Command{
		Use: "ls", Short: "List the frameworks", Args: cobra.NoArgs,
		Long: `List the external frameworks: their connection, active tasks, status
updates not yet acknowledged, the offers the allocator holds for them now
(OFFERS) and, for one that holds none, why (REASON). --builtin lists the
master's own apps and jobs frameworks first; they cannot be torn down.`,
		RunE: f.run(func(ctx context.Context, c *agentproto.Client, cmd *cobra.Command, _ []string) error {
			path := "/api/v1/frameworks"
			if builtin {
				path += "?builtin=true"
			}
			// The master's answer is what -o json prints, so fields the
			// table leaves out (offers_sent, registered_at) are kept.
			var raw json.RawMessage
			if err := c.Do(ctx, "GET", path, nil, &raw); err != nil {
				return err
			}
			// The view the master encodes, so the table cannot drift from
			// the API's fields.
			var list []core.FrameworkView
			if err := json.Unmarshal(raw, &list); err != nil {
				return fmt.Errorf("decoding the frameworks of %s: %w", path, err)
			}
			if f.output == "json" {
				return f.show(cmd.OutOrStdout(), raw, nil, nil)
			}
			return f.show(cmd.OutOrStdout(), nil, []string{"ID", "NAME", "ROLE", "REVOCABLE", "CONNECTED", "TASKS", "UNACKED", "OFFERS", "FAILOVER", "REASON"}, func() [][]string {
				var rows [][]string
				for _, fw := range list {
					conn := "yes"
					if !fw.Connected {
						conn = "no, since " + fw.DisconnectedAt.Format(time.RFC3339)
					}
					// A built-in framework runs in the master: it has no
					// failover timeout, and "0s" would read as one.
					failover := "-"
					if !fw.Builtin {
						failover = time.Duration(fw.FailoverTimeout * float64(time.Second)).String()
					}
					rows = append(rows, []string{fw.ID, fw.Name, fw.Role, strconv.FormatBool(fw.Revocable), conn,
						strconv.Itoa(fw.Tasks), strconv.Itoa(fw.Unacknowledged), strconv.Itoa(fw.OffersOutstanding), failover, fw.Reason})
				}
				return rows
			})
		}),
	}
	ls.Flags().BoolVar(&builtin, "builtin", false, "also list the master's own apps and jobs frameworks, first (an operator's or reader's token; a framework's token lists its own only)")
	cmd.AddCommand(ls)
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
