package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/harness"
	"github.com/jitbench/jitbench/scenarios"
)

// listedScenario is one line of `jitbench list --json`.
type listedScenario struct {
	Name    string   `json:"name"`
	Tags    []string `json:"tags"`
	Cause   string   `json:"cause,omitempty"`
	Summary string   `json:"summary"`
}

func newListCmd() *cobra.Command {
	var (
		tag      string
		asJSON   bool
		faults   bool
		external bool
	)
	c := &cobra.Command{
		Use:   "list",
		Short: "List the scenario library (or the fault kinds)",
		Long: `List the embedded scenario library: each scenario's name, tags and a
one-sentence summary of what goes wrong. 'jitbench run NAME' runs one,
'jitbench repro NAME' runs it and explains the outcome.

With --external, list only the scenarios written for your own service:
they need nothing but a target config ('jitbench run NAME --target FILE').

With --faults, list the fault kinds a scenario file may use instead.`,
		Example: `  jitbench list
  jitbench list --tag clock
  jitbench list --json
  jitbench list --external
  jitbench list --faults`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if faults {
				return listFaults(cmd, asJSON)
			}
			all, err := harness.Library()
			if err != nil {
				return usagef("the scenario library does not load: %v", err)
			}
			if external {
				if tag != "" && tag != harness.TagExternal {
					return usagef("--external lists the scenarios tagged %s: give no other --tag with it", harness.TagExternal)
				}
				tag = harness.TagExternal
			}
			if tag != "" {
				if all = harness.Tagged(all, tag); len(all) == 0 {
					return usagef("--tag %q: no library scenario has this tag", tag)
				}
			}
			if asJSON {
				out := make([]listedScenario, len(all))
				for i, s := range all {
					out[i] = listedScenario{Name: s.Name, Tags: nonNil(s.Tags), Cause: s.Cause, Summary: s.Summary}
				}
				return writeJSON(cmd.OutOrStdout(), out)
			}
			writeScenarioTable(cmd, all)
			return nil
		},
	}
	c.Flags().StringVar(&tag, "tag", "", "only the scenarios with this tag")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	c.Flags().BoolVar(&faults, "faults", false, "list the fault kinds and their parameters instead")
	c.Flags().BoolVar(&external, "external", false, "only the scenarios for your own service (tag external): run them with --target FILE")
	return c
}

func writeScenarioTable(cmd *cobra.Command, all []*scenarios.Scenario) {
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTAGS\tSUMMARY")
	for _, s := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, strings.Join(s.Tags, ","), s.Summary)
	}
	_ = tw.Flush()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// listedFault is one entry of `jitbench list --faults --json`.
type listedFault struct {
	Kind    string           `json:"kind"`
	Summary string           `json:"summary"`
	Params  []fakes.ParamDoc `json:"params"`
	// External says how the kind acts on your own service (run --target), or why it cannot.
	External string `json:"external,omitempty"`
}

// listFaults prints the fault kinds of the fakes registry with their parameters.
func listFaults(cmd *cobra.Command, asJSON bool) error {
	var out []listedFault
	for _, k := range fakes.Kinds() {
		doc := fakes.Doc(k)
		out = append(out, listedFault{Kind: k, Summary: doc.Summary, Params: doc.Params, External: doc.External})
	}
	if asJSON {
		if out == nil {
			out = []listedFault{}
		}
		return writeJSON(cmd.OutOrStdout(), out)
	}
	w := cmd.OutOrStdout()
	for _, f := range out {
		fmt.Fprintf(w, "%s\n  %s\n", f.Kind, f.Summary)
		if f.External != "" {
			fmt.Fprintf(w, "  on your own service (--target): %s\n", f.External)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, p := range f.Params {
			fmt.Fprintf(tw, "    %s\t%s\t%s\n", p.Name, p.Type, p.Doc)
		}
		_ = tw.Flush()
		fmt.Fprintln(w)
	}
	return nil
}
