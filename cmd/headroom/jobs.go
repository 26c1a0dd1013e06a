package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/headroom-dev/headroom/api/agentproto"
)

// cliJob is what the CLI reads of GET /v1/jobs.
type cliJob struct {
	ID  string `json:"id"`
	Run struct {
		Cmd  string   `json:"cmd"`
		Args []string `json:"args"`
		CPUs float64  `json:"cpus"`
		Mem  float64  `json:"mem"`
	} `json:"run"`
	Schedules []struct {
		ID                string `json:"id"`
		Cron              string `json:"cron"`
		Timezone          string `json:"timezone"`
		ConcurrencyPolicy string `json:"concurrencyPolicy"`
		Enabled           bool   `json:"enabled"`
	} `json:"schedules"`
	ActiveRuns int `json:"activeRuns"`
	Summary    struct {
		SuccessCount int `json:"successCount"`
		FailureCount int `json:"failureCount"`
	} `json:"summary"`
	NextRuns map[string]time.Time `json:"nextRuns"`
}

// cliRun is what the CLI reads of a run.
type cliRun struct {
	ID          string    `json:"id"`
	ScheduleID  string    `json:"scheduleId"`
	Status      string    `json:"status"`
	ScheduledAt time.Time `json:"scheduledAt"`
	StartedAt   time.Time `json:"startedAt"`
	FinishedAt  time.Time `json:"finishedAt"`
	Attempts    int       `json:"attempts"`
	TaskID      string    `json:"taskId"`
	Message     string    `json:"message"`
	Reason      string    `json:"reason"`
}

func newJobsCommand() *cobra.Command {
	f := &cliFlags{}
	cmd := &cobra.Command{Use: "jobs", Short: "Manage periodic jobs on the master (/v1/jobs)"}
	f.register(cmd)
	jobPath := func(id string, rest ...string) string {
		return "/v1/jobs/" + url.PathEscape(id) + strings.Join(rest, "")
	}

	cmd.AddCommand(&cobra.Command{
		Use: "ls", Short: "List jobs", Args: cobra.NoArgs,
		RunE: f.run(func(ctx context.Context, c *agentproto.Client, cmd *cobra.Command, _ []string) error {
			var list []cliJob
			if err := c.Do(ctx, "GET", "/v1/jobs", nil, &list); err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), list, []string{"ID", "SCHEDULES", "ACTIVE", "SUCCESS", "FAILURE", "NEXT RUN"}, func() [][]string {
				var rows [][]string
				for _, j := range list {
					var scheds []string
					for _, s := range j.Schedules {
						desc := s.Cron + " " + s.Timezone
						if !s.Enabled {
							desc += " (disabled)"
						}
						scheds = append(scheds, desc)
					}
					rows = append(rows, []string{j.ID, strings.Join(scheds, "; "), strconv.Itoa(j.ActiveRuns),
						strconv.Itoa(j.Summary.SuccessCount), strconv.Itoa(j.Summary.FailureCount), nextRun(j.NextRuns)})
				}
				return rows
			})
		}),
	})

	add := &cobra.Command{
		Use:   "add FILE",
		Short: "Create a job from a JSON file, or replace its definition if it exists ('-' reads stdin)",
		Args:  cobra.MaximumNArgs(1),
	}
	// -f is what the command took first; FILE reads like apps deploy.
	flagFile := add.Flags().StringP("file", "f", "", "JSON job definition ('-' for stdin); same as the FILE argument")
	_ = add.Flags().MarkHidden("file")
	add.RunE = f.run(func(ctx context.Context, c *agentproto.Client, cmd *cobra.Command, args []string) error {
		var file *string
		switch {
		case len(args) == 1 && *flagFile != "":
			return fmt.Errorf("give the job file once: as FILE or with -f, not both")
		case len(args) == 1:
			file = &args[0]
		case *flagFile != "":
			file = flagFile
		default:
			return fmt.Errorf("no job file: headroom jobs add FILE ('-' reads stdin)")
		}
		data, err := readDefinition(cmd, *file)
		if err != nil {
			return fmt.Errorf("reading the job: %w", err)
		}
		var head struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(data, &head); err != nil {
			return fmt.Errorf("%s: malformed JSON: %w", *file, err)
		}
		if head.ID == "" {
			return fmt.Errorf("%s: the job has no id", *file)
		}
		verb := "created"
		err = c.Do(ctx, "POST", "/v1/jobs", data, nil)
		var se *agentproto.StatusError
		if errors.As(err, &se) && se.Code == http.StatusConflict {
			verb = "updated"
			err = c.Do(ctx, "PUT", jobPath(head.ID), data, nil)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "job %s %s\n", head.ID, verb)
		return nil
	})
	cmd.AddCommand(add)

	cmd.AddCommand(&cobra.Command{
		Use: "show ID", Short: "Show a job's definition and counts", Args: cobra.ExactArgs(1),
		RunE: f.run(func(ctx context.Context, c *agentproto.Client, cmd *cobra.Command, args []string) error {
			var raw json.RawMessage
			if err := c.Do(ctx, "GET", jobPath(args[0]), nil, &raw); err != nil {
				return err
			}
			var j cliJob
			if err := json.Unmarshal(raw, &j); err != nil {
				return fmt.Errorf("decoding job %s: %w", args[0], err)
			}
			if f.output == "json" {
				return f.show(cmd.OutOrStdout(), raw, nil, nil)
			}
			w := cmd.OutOrStdout()
			command := j.Run.Cmd
			if command == "" {
				command = strings.Join(j.Run.Args, " ")
			}
			fmt.Fprintf(w, "job %s: %s (cpus %v, mem %v MiB)\n", j.ID, command, j.Run.CPUs, j.Run.Mem)
			fmt.Fprintf(w, "active runs %d, succeeded %d, failed %d\n", j.ActiveRuns, j.Summary.SuccessCount, j.Summary.FailureCount)
			return f.show(w, nil, []string{"SCHEDULE", "CRON", "TIMEZONE", "POLICY", "ENABLED", "NEXT RUN"}, func() [][]string {
				var rows [][]string
				for _, s := range j.Schedules {
					next := "-"
					if t, ok := j.NextRuns[s.ID]; ok {
						next = t.Format(time.RFC3339)
					}
					rows = append(rows, []string{s.ID, s.Cron, s.Timezone, s.ConcurrencyPolicy, strconv.FormatBool(s.Enabled), next})
				}
				return rows
			})
		}),
	})

	cmd.AddCommand(&cobra.Command{
		Use: "rm ID", Short: "Delete a job and kill its active runs", Args: cobra.ExactArgs(1),
		RunE: f.run(func(ctx context.Context, c *agentproto.Client, cmd *cobra.Command, args []string) error {
			if err := c.Do(ctx, "DELETE", jobPath(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "job %s deleted\n", args[0])
			return nil
		}),
	})

	cmd.AddCommand(&cobra.Command{
		Use: "run ID", Short: "Start a run of a job now", Args: cobra.ExactArgs(1),
		RunE: f.run(func(ctx context.Context, c *agentproto.Client, cmd *cobra.Command, args []string) error {
			var r cliRun
			if err := c.Do(ctx, "POST", jobPath(args[0], "/runs"), nil, &r); err != nil {
				return err
			}
			if f.output == "json" {
				return f.show(cmd.OutOrStdout(), r, nil, nil)
			}
			fmt.Fprintln(cmd.OutOrStdout(), runStarted(r, args[0]))
			return nil
		}),
	})

	cmd.AddCommand(&cobra.Command{
		Use: "runs ID", Short: "List a job's active runs and its history, newest first", Args: cobra.ExactArgs(1),
		RunE: f.run(func(ctx context.Context, c *agentproto.Client, cmd *cobra.Command, args []string) error {
			var out struct {
				Active  []cliRun `json:"active"`
				History []cliRun `json:"history"`
			}
			if err := c.Do(ctx, "GET", jobPath(args[0], "/runs"), nil, &out); err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), out, []string{"RUN", "SCHEDULE", "STATUS", "SCHEDULED", "STARTED", "FINISHED", "ATTEMPTS", "MESSAGE", "REASON"}, func() [][]string {
				var rows [][]string
				all := append([]cliRun(nil), out.Active...)
				for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
					all[i], all[j] = all[j], all[i]
				}
				for _, r := range append(all, out.History...) {
					rows = append(rows, []string{r.ID, r.ScheduleID, r.Status, stamp(r.ScheduledAt), stamp(r.StartedAt),
						stamp(r.FinishedAt), strconv.Itoa(r.Attempts), oneLine(r.Message), r.Reason})
				}
				return rows
			})
		}),
	})

	cmd.AddCommand(&cobra.Command{
		Use: "stop ID RUNID", Short: "Stop an active run and kill its task", Args: cobra.ExactArgs(2),
		RunE: f.run(func(ctx context.Context, c *agentproto.Client, cmd *cobra.Command, args []string) error {
			if err := c.Do(ctx, "POST", jobPath(args[0], "/runs/", url.PathEscape(args[1]), "/actions/stop"), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "run %s of job %s stopped\n", args[1], args[0])
			return nil
		}),
	})
	return cmd
}

// nextRun is the earliest of a job's next schedule times.
func nextRun(next map[string]time.Time) string {
	var first time.Time
	for _, t := range next {
		if first.IsZero() || t.Before(first) {
			first = t
		}
	}
	return stamp(first)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// oneLine keeps a table row on one line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// runStarted says what became of a run just asked for: a run waits for
// resources until a task of it runs, and saying "started" then would
// send the user looking for output that does not exist yet.
func runStarted(r cliRun, jobID string) string {
	switch {
	case r.Status == "ACTIVE" && r.StartedAt.IsZero() && r.Reason != "":
		return fmt.Sprintf("run %s of job %s queued: %s", r.ID, jobID, r.Reason)
	case r.Status == "ACTIVE" && r.StartedAt.IsZero():
		return fmt.Sprintf("run %s of job %s queued", r.ID, jobID)
	case r.Status == "ACTIVE":
		return fmt.Sprintf("run %s of job %s started", r.ID, jobID)
	}
	return fmt.Sprintf("run %s of job %s: %s", r.ID, jobID, r.Status)
}
