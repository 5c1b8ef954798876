package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jitbench/jitbench/harness"
	"github.com/jitbench/jitbench/scenarios"
)

// resultVersion versions the JSON that `run --json` and `run -o` write.
const resultVersion = 1

// runResult is the JSON document of a `jitbench run`.
type runResult struct {
	Version   int               `json:"version"`
	Pass      bool              `json:"pass"`
	Elapsed   time.Duration     `json:"elapsed"`
	Scenarios []*harness.Report `json:"scenarios"`
	// Errors are scenarios that could not run at all.
	Errors []runError `json:"errors,omitempty"`
}

type runError struct {
	Scenario string `json:"scenario"`
	Error    string `json:"error"`
}

func newRunCmd() *cobra.Command {
	var (
		all      bool
		tags     []string
		topology string
		out      string
		asJSON   bool
		seed     int64
	)
	c := &cobra.Command{
		Use:   "run [NAME|FILE ...]",
		Short: "Run scenarios and check their expectations",
		Long: `Run scenarios against the reference JIT system and check each one's
expectations: the share of calls with each gRPC code and reason, and latency
bounds. A scenario is a library name ('jitbench list' shows them) or a YAML
file. Each prints the calls by code, reason and phase, and every check with
what it expected and what the run got.

Exit code 0 when every expectation holds, 1 when one fails (or a scenario
cannot run), 2 for bad usage or a bad scenario file (named file:line:col).`,
		Example: `  jitbench run --all
  jitbench run clock-drift-broker-ahead
  jitbench run --tag approval --topology tcp
  jitbench run my-scenario.yaml -o result.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(harness.Topologies(), topology) && topology != "" {
				return usagef("--topology: unknown topology %q (want %s)", topology, strings.Join(harness.Topologies(), " or "))
			}
			if all && (len(args) > 0 || len(tags) > 0) {
				return usagef("--all runs the whole library: give no names, files or --tag with it")
			}
			if !all && len(args) == 0 && len(tags) == 0 {
				return usagef("name the scenarios to run (see 'jitbench list'), or use --all or --tag")
			}
			picked, err := selectScenarios(args, all, tags)
			if err != nil {
				return err
			}
			if err := checkTopologies(picked, topology); err != nil {
				return err
			}
			opts := []harness.Option{harness.WithTopology(topology)}
			if cmd.Flags().Changed("seed") {
				opts = append(opts, harness.WithSeed(seed))
			}
			var file *os.File
			if out != "" {
				// Created before the run, so a bad path fails at once, not after it.
				if file, err = os.Create(out); err != nil {
					return usagef("-o: %v", err)
				}
				defer file.Close()
			}
			res := runAll(cmd.Context(), picked, opts, cmd.OutOrStdout(), cmd.ErrOrStderr(), !asJSON)
			if asJSON {
				if err := writeJSON(cmd.OutOrStdout(), res); err != nil {
					return err
				}
			}
			if file != nil {
				if err := writeJSON(file, res); err != nil {
					return fmt.Errorf("-o %s: %w", out, err)
				}
				if err := file.Close(); err != nil {
					return fmt.Errorf("-o %s: %w", out, err)
				}
			}
			if !res.Pass {
				return errFailed
			}
			return nil
		},
	}
	c.Flags().BoolVar(&all, "all", false, "run every library scenario")
	c.Flags().StringSliceVar(&tags, "tag", nil, "run the library scenarios with this tag (repeatable)")
	c.Flags().StringVar(&topology, "topology", "", "inprocess or tcp (default: each scenario's own)")
	c.Flags().StringVarP(&out, "output", "o", "", "also write the results as JSON to this file")
	c.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON instead of tables")
	c.Flags().Int64Var(&seed, "seed", 0, "replace every scenario's seed")
	return c
}

// selectScenarios resolves the command line to scenarios, in the order
// given: files and names as listed, else the library (or its tagged part).
func selectScenarios(args []string, all bool, tags []string) ([]*scenarios.Scenario, error) {
	var lib []*scenarios.Scenario
	library := func() ([]*scenarios.Scenario, error) {
		if lib != nil {
			return lib, nil
		}
		var err error
		if lib, err = harness.Library(); err != nil {
			return nil, usagef("the scenario library does not load: %v", err)
		}
		return lib, nil
	}
	var picked []*scenarios.Scenario
	seen := map[string]bool{}
	add := func(s *scenarios.Scenario) {
		key := s.File + "\x00" + s.Name
		if !seen[key] {
			seen[key] = true
			picked = append(picked, s)
		}
	}
	if all {
		return library()
	}
	for _, arg := range args {
		s, err := resolveScenario(arg, library)
		if err != nil {
			return nil, err
		}
		add(s)
	}
	for _, tag := range tags {
		l, err := library()
		if err != nil {
			return nil, err
		}
		tagged := harness.Tagged(l, tag)
		if len(tagged) == 0 {
			return nil, usagef("--tag %q: no library scenario has this tag (see 'jitbench list')", tag)
		}
		for _, s := range tagged {
			add(s)
		}
	}
	return picked, nil
}

// checkTopologies refuses, before anything runs, a scenario whose topology
// (the flag's, else its own) the harness cannot start yet.
func checkTopologies(picked []*scenarios.Scenario, flag string) error {
	for _, s := range picked {
		topo := cmp.Or(flag, s.Topology, harness.TopologyInProcess)
		if !slices.Contains(harness.Topologies(), topo) {
			return usagef("scenario %s: topology %q cannot run here yet (want %s); choose one with --topology",
				s.Name, topo, strings.Join(harness.Topologies(), " or "))
		}
	}
	return nil
}

// resolveScenario reads arg as a scenario file when it names one (or looks
// like one), else finds it in the library by name.
func resolveScenario(arg string, library func() ([]*scenarios.Scenario, error)) (*scenarios.Scenario, error) {
	if isScenarioFile(arg) {
		s, err := harness.LoadFile(arg)
		if err != nil {
			return nil, usageErr(err)
		}
		return s, nil
	}
	lib, err := library()
	if err != nil {
		return nil, err
	}
	for _, s := range lib {
		if s.Name == arg {
			return s, nil
		}
	}
	// The library's own lookup words the refusal, with a did-you-mean.
	_, err = scenarios.Find(arg)
	if err == nil {
		err = fmt.Errorf("no library scenario named %q", arg)
	}
	return nil, usageErr(err)
}

// isScenarioFile reports whether arg is a path rather than a library name.
func isScenarioFile(arg string) bool {
	if strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") || strings.ContainsRune(arg, os.PathSeparator) {
		return true
	}
	fi, err := os.Stat(arg)
	return err == nil && !fi.IsDir()
}

// runAll runs each scenario in turn, printing its report as text when text
// is set, and progress on stderr when stderr is a terminal.
func runAll(ctx context.Context, picked []*scenarios.Scenario, opts []harness.Option, stdout, stderr io.Writer, text bool) *runResult {
	res := &runResult{Version: resultVersion, Pass: true, Scenarios: []*harness.Report{}}
	progress := isTerminal(stderr)
	start := time.Now()
	failed := []string{}
	for i, s := range picked {
		if progress {
			fmt.Fprintf(stderr, "\r\033[K[%d/%d] %s …", i+1, len(picked), s.Name)
		}
		rep, err := harness.RunScenario(ctx, s, opts...)
		if err != nil {
			res.Pass = false
			res.Errors = append(res.Errors, runError{Scenario: s.Name, Error: err.Error()})
			failed = append(failed, s.Name)
			if text {
				fmt.Fprintf(stdout, "ERROR  %s: %v\n\n", s.Name, err)
			}
			continue
		}
		res.Scenarios = append(res.Scenarios, rep)
		if !rep.Pass() {
			res.Pass = false
			failed = append(failed, s.Name)
		}
		if text {
			rep.WriteText(stdout)
			fmt.Fprintln(stdout)
		}
	}
	if progress {
		fmt.Fprint(stderr, "\r\033[K")
	}
	res.Elapsed = time.Since(start).Round(time.Millisecond)
	if text {
		noun := "scenarios"
		if len(picked) == 1 {
			noun = "scenario"
		}
		fmt.Fprintf(stdout, "%d %s: %d passed, %d failed (%v)\n", len(picked), noun, len(picked)-len(failed), len(failed), res.Elapsed)
		if len(failed) > 0 {
			fmt.Fprintf(stdout, "failed: %s\n", strings.Join(failed, ", "))
		}
	}
	return res
}

// isTerminal reports whether w is a terminal, where progress lines belong;
// on a pipe or in a file they would be noise.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
