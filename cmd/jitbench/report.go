package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jitbench/jitbench/reports"
)

func newReportCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "report",
		Short: "Render, merge and compare load results",
		Long: `Work with the JSON results that 'jitbench load -o' writes: render one as a
terminal table, Markdown (a CI step summary), JUnit XML, a self-contained
HTML page with plots, or Prometheus text; merge the results of several
workers of one run (exactly, from their histograms); compare two results and
fail a CI step when a figure regressed.

A file that cannot be read or is not a jitbench result exits 2 with one line
saying why.`,
		Example: `  jitbench report render result.json
  jitbench report render --format html result.json -o report.html
  jitbench report merge worker-*.json -o merged.json
  jitbench report diff base.json new.json --fail-on 'p99>+10%,error_rate>1%'`,
	}
	c.AddCommand(newReportRenderCmd(), newReportMergeCmd(), newReportDiffCmd())
	return c
}

func newReportRenderCmd() *cobra.Command {
	var format, out string
	c := &cobra.Command{
		Use:   "render RESULT.json",
		Short: "Render a result as text, md, junit, html, prom or json",
		Long: `Render a result: text (a terminal table), md (GitHub Markdown, fits a CI step
summary), junit (JUnit XML, one test case per expectation), html (one
self-contained page with plots of latency percentiles and codes over time and
the latency distribution), prom (Prometheus text exposition) or json.
RESULT.json may be - for standard input.`,
		Example: `  jitbench report render result.json
  jitbench report render --format md result.json >> "$GITHUB_STEP_SUMMARY"
  jitbench report render --format html result.json -o report.html`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !validFormat(format) {
				return usagef("--format: want one of %s, got %q", strings.Join(reports.Formats(), ", "), format)
			}
			res, err := readResult(cmd.InOrStdin(), args[0])
			if err != nil {
				return err
			}
			if out == "" {
				return reports.Render(cmd.OutOrStdout(), res, format)
			}
			return writeReport(out, res, format)
		},
	}
	c.Flags().StringVar(&format, "format", "text", "output format: "+strings.Join(reports.Formats(), ", "))
	c.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of standard output")
	return c
}

func newReportMergeCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "merge A.json B.json ...",
		Short: "Merge the results of several workers of one run into one",
		Long: `Merge the results of workers that loaded the same method in the same mode
into one result: calls and codes add up, latency histograms add bucket by
bucket (so percentiles of the merge are those of the whole run, not an
average of percentiles), and the timeline adds up second by second.
Expectations are dropped: check them again against the merged result.`,
		Example: `  jitbench report merge w1.json w2.json w3.json -o run.json`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var parts []*reports.Result
			for _, name := range args {
				res, err := readResult(cmd.InOrStdin(), name)
				if err != nil {
					return err
				}
				parts = append(parts, res)
			}
			merged, err := reports.Merge(parts...)
			if err != nil {
				return usageErr(err)
			}
			if out == "" {
				return reports.Write(cmd.OutOrStdout(), merged)
			}
			if err := writeReport(out, merged, "json"); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "jitbench: merged %d results (%d calls) into %s\n", len(parts), merged.Calls, out)
			return nil
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "", "write the merged result to this file (default: standard output)")
	return c
}

func newReportDiffCmd() *cobra.Command {
	var format, failOn string
	c := &cobra.Command{
		Use:   "diff BASE.json NEW.json",
		Short: "Compare two results; with --fail-on, exit 1 when a gate fails",
		Long: `Compare a new result with a base one figure by figure: calls, throughput,
error rate, each code's and reason's share, latency percentiles. --fail-on
takes comma-separated gates; when one holds, diff exits 1 (a CI regression
gate):

  p99>+10%          p99 grew by more than 10 %
  p50>+5ms          p50 grew by more than 5 ms
  p99.9>2s          p99.9 is over 2 s
  error_rate>1%     more than 1 % of calls did not end OK
  error_rate>+0.5pp the error rate rose by more than half a percentage point
  OK<99%            fewer than 99 % of calls ended OK
  GRANT_EXPIRED>0%  any call failed with GRANT_EXPIRED
  throughput<-5%    throughput fell by more than 5 %`,
		Example: `  jitbench report diff base.json new.json
  jitbench report diff base.json new.json --fail-on 'p99>+10%,error_rate>1%' --format md`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "md" {
				return usagef("--format: want text or md, got %q", format)
			}
			gates, err := reports.ParseGates(failOn)
			if err != nil {
				return usagef("--fail-on: %v", err)
			}
			base, err := readResult(cmd.InOrStdin(), args[0])
			if err != nil {
				return err
			}
			next, err := readResult(cmd.InOrStdin(), args[1])
			if err != nil {
				return err
			}
			cmp := reports.Diff(base, next)
			verdicts := cmp.Check(gates)
			if err := reports.WriteComparison(cmd.OutOrStdout(), cmp, verdicts, format); err != nil {
				return err
			}
			if len(reports.Failures(verdicts)) > 0 {
				return errFailed
			}
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "text", "output format: text or md")
	c.Flags().StringVar(&failOn, "fail-on", "", "comma-separated regression gates, e.g. 'p99>+10%,error_rate>1%'; exit 1 when one holds")
	return c
}

func validFormat(format string) bool { return slices.Contains(reports.Formats(), format) }

// readResult reads a result file ("-" is stdin); any failure is one line naming the file, exit 2.
func readResult(stdin io.Reader, name string) (*reports.Result, error) {
	var r io.Reader = stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, usagef("%v", err)
		}
		defer f.Close()
		r = f
	}
	res, err := reports.Read(r)
	if err != nil {
		return nil, usagef("%s: %v", name, err)
	}
	return res, nil
}
