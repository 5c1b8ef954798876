package main

import (
	"github.com/spf13/cobra"

	"github.com/jitbench/jitbench/harness"
)

func newDemoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Start the reference in-process and show allowed and refused calls, each explained",
		Long: `Start the reference JIT system in-process and make one call for each
situation of the seed articles' error catalog that the reference core covers:
an allowed call, missing credentials, an expired window, clock drift, a scope
violation, forged and mismatched algorithms, a tampered grant, a stream sent
without its grant, an approval slower than the deadline and a broker outage.
Each refusal is explained with its reason, details and fix.

Exit code 0 when every call got the expected code and reason, 1 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			outcomes, err := harness.RunTour(cmd.Context())
			if err != nil {
				return err
			}
			harness.WriteTour(cmd.OutOrStdout(), outcomes)
			for _, o := range outcomes {
				if !o.Pass() {
					return errFailed
				}
			}
			return nil
		},
	}
}
