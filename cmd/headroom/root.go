package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/headroom-dev/headroom/exporter"
)

// globalFlags are shared by every subcommand.
type globalFlags struct {
	logLevel  string
	logFormat string
}

func newRootCommand() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:   "headroom",
		Short: "Harvest the CPU and memory that business hosts safely leave idle",
		Long: `headroom measures on every host how much CPU and memory the business is
safely not using, hands exactly that to batch work, and takes it back the
moment the business needs it.

Start monitoring-first: run 'headroom monitor' alone (observe-only) and look
at its /metrics; tune the policy with 'headroom policy check'; then run
agents and a master to put batch work on the harvested capacity.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       exporter.Version,
	}
	root.SetVersionTemplate(versionLine())
	root.PersistentFlags().StringVar(&g.logLevel, "log.level", "info", "log level: debug, info, warn or error")
	root.PersistentFlags().StringVar(&g.logFormat, "log.format", "logfmt", "log format: logfmt or json")
	root.AddCommand(
		newMonitorCommand(g),
		newAgentCommand(g),
		newMasterCommand(g),
		newDemoCommand(g),
		newAppsCommand(),
		newJobsCommand(),
		newFrameworksCommand(),
		newAgentsCommand(),
		newTasksCommand(),
		newLeaderCommand(),
		newDashboardsCommand(),
		newPolicyCommand(g),
		newVersionCommand(),
	)
	return root
}

// logger builds the slog logger the flags ask for, writing to w.
func (g *globalFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, fmt.Errorf("--log.level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(g.logFormat) {
	case "logfmt", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log.format: want logfmt or json, got %q", g.logFormat)
	}
}
