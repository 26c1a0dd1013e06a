package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/headroom-dev/headroom/monitor"
	"github.com/headroom-dev/headroom/monitor/estimate"
)

func newPolicyCommand(_ *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Validate and inspect headroom policies",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check [FILE]",
		Short: "Validate a policy file and print the effective policy",
		Long: `Validate a policy file and print the effective policy: the file's values
over the documented defaults (docs/policy.md). Without FILE, print the
defaults. A bad file is rejected with the path of each offending field and
the reason, and the command exits non-zero.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := estimate.DefaultPolicy()
			if len(args) == 1 {
				var err error
				if p, err = monitor.LoadPolicy(args[0]); err != nil {
					return err
				}
			}
			out, err := yaml.Marshal(p)
			if err != nil {
				return fmt.Errorf("printing the policy: %w", err)
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	})
	cmd.AddCommand(newSimulateCommand())
	return cmd
}
