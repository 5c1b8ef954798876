package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jitbench/jitbench/harness"
	"github.com/jitbench/jitbench/scenarios"
)

// demoCauses pick the library scenarios the demo runs after the tour: one
// each for the seed causes a newcomer meets first.
var demoCauses = []string{"clock-drift", "deadline-too-short-for-approval", "retries-do-not-extend-deadline", "signing-algorithm-mismatch"}

func newDemoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Start the reference in-process and show allowed and refused calls, each explained",
		Long: `Start the reference JIT system in-process and make one call for each
common cause of a refused JIT call that the reference covers:
an allowed call, missing credentials, an expired window, clock drift, a scope
violation, forged and mismatched algorithms, a tampered grant, a stream sent
without its grant, an approval slower than the deadline and a broker outage.
Each refusal is explained with its reason, details and fix.

Then run a few scenarios of the library ('jitbench list' shows them all) —
clock drift, an approval slower than the deadline, retries that keep the
first deadline, a signing algorithm mismatch — each with its faults on a
timeline, its calls counted by code and reason, and its explanation.

Exit code 0 when every call got the expected code and reason and every
scenario's expectations held, 1 otherwise.`,
		Example: "  jitbench demo",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			outcomes, err := harness.RunTour(cmd.Context())
			if err != nil {
				return err
			}
			harness.WriteTour(cmd.OutOrStdout(), outcomes)
			pass := true
			for _, o := range outcomes {
				pass = pass && o.Pass()
			}
			ok, err := demoScenarios(cmd.Context(), cmd.OutOrStdout())
			if err != nil {
				return err
			}
			if !pass || !ok {
				return errFailed
			}
			return nil
		},
	}
}

// demoScenarios runs the first library scenario of each demo cause and
// prints its report and explanation; it reports whether all of them passed.
func demoScenarios(ctx context.Context, w io.Writer) (bool, error) {
	lib, err := harness.Library()
	if err != nil {
		return false, fmt.Errorf("the scenario library does not load: %w", err)
	}
	var picked []*scenarios.Scenario
	for _, cause := range demoCauses {
		for _, s := range lib {
			if s.Cause == cause {
				picked = append(picked, s)
				break
			}
		}
	}
	if len(picked) == 0 {
		return true, nil
	}
	fmt.Fprintf(w, "\nScenarios from the library ('jitbench run NAME' runs one, 'jitbench repro NAME' explains it):\n\n")
	pass := true
	for _, s := range picked {
		rep, err := harness.RunScenario(ctx, s)
		if err != nil {
			return false, err
		}
		pass = pass && rep.Pass()
		rep.WriteText(w)
		if rep.Explanation != "" {
			fmt.Fprintln(w, "  why:")
			for _, line := range strings.Split(rep.Explanation, "\n") {
				fmt.Fprintf(w, "    %s\n", line)
			}
		}
		fmt.Fprintln(w)
	}
	return pass, nil
}
