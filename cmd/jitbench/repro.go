package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jitbench/jitbench/harness"
)

func newReproCmd() *cobra.Command {
	var (
		topology string
		asJSON   bool
		out      string
		target   string
	)
	c := &cobra.Command{
		Use:   "repro NAME|FILE",
		Short: "Reproduce one scenario and explain why its calls failed",
		Long: `Run one scenario and tell what happened and why: the calls by gRPC code,
reason and phase (obtaining the grant, or the call itself), latency, how long
approval took, then the diagnosis — the cause and the fix in plain words,
filled with the figures measured (skew seen, token age, approval wait against
the deadline, algorithm offered against those accepted) — and the most
frequent failure's message and details.

--target FILE reproduces the scenario against your own service, which the
target config FILE describes (see 'jitbench run --help'): a service that is
not the reference rarely says why it refused a call, so each failed call's
diagnosis is told from what it returned (code, message), what was sent (the
token's claims and times, alg, kid), the deadline against the time spent,
and the faults in force; where the cause cannot be told, it says so and why.

-o also writes the run's result, as 'jitbench run -o' does, for
'jitbench report render' (an HTML page with the latency plots, JUnit, ...).

Exit code 0 when the scenario's expectations hold, 1 when they do not,
2 for bad usage or a bad scenario file.`,
		Example: `  jitbench repro clock-drift
  jitbench repro deadline-too-short-for-approval --topology tcp
  jitbench repro ./my-scenario.yaml -o result.json
  jitbench repro external-deadline-too-short-for-approval --target target.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(harness.Topologies(), topology) && topology != "" {
				return usagef("--topology: unknown topology %q (want %s)", topology, strings.Join(harness.Topologies(), " or "))
			}
			picked, err := selectScenarios(args, false, nil)
			if err != nil {
				return err
			}
			if err := checkTopologies(picked, topology); err != nil {
				return err
			}
			if err := checkTargets(args, picked, target); err != nil {
				return err
			}
			var files *resultFiles
			if out != "" {
				if files, err = newResultFiles(out, 1); err != nil {
					return err
				}
			}
			if topology == harness.TopologyExternal && target == "" {
				return usagef("--topology external runs against your own service: give its target config with --target FILE")
			}
			opts, err := targetOptions(cmd.Context(), target, topology)
			if err != nil {
				return err
			}
			rep, err := harness.RunScenario(cmd.Context(), picked[0], append(opts, harness.WithTopology(topology))...)
			if err != nil {
				if files != nil {
					_, _ = files.write(nil) // removes the file made for the result
				}
				return failed(err)
			}
			if asJSON {
				if err := writeJSON(cmd.OutOrStdout(), rep); err != nil {
					return err
				}
			} else {
				rep.WriteRepro(cmd.OutOrStdout())
			}
			if files != nil {
				written, err := files.write([]*harness.Report{rep})
				if err != nil {
					return err
				}
				files.report(cmd.ErrOrStderr(), written)
			}
			if !rep.Pass() {
				return errFailed
			}
			return nil
		},
	}
	c.Flags().StringVar(&topology, "topology", "", "inprocess, tcp or container (default: the scenario's own); external with --target")
	c.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	c.Flags().StringVarP(&out, "output", "o", "", "also write the run's result (jitbench.result/v1, for 'jitbench report') to this file")
	c.Flags().StringVar(&target, "target", "", targetHelp)
	return c
}
