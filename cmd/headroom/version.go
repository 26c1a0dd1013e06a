package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/headroom-dev/headroom/exporter"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the headroom version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), versionLine())
			return err
		},
	}
}

// versionLine is what both `headroom version` and `headroom --version`
// print.
func versionLine() string {
	return fmt.Sprintf("headroom %s (%s)\n", exporter.Version, runtime.Version())
}
