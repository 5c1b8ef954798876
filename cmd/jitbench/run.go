package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/harness"
	"github.com/jitbench/jitbench/scenarios"
)

// resultVersion versions the JSON that `run --json` prints (`run -o` writes
// reports results, versioned by their own schema).
const resultVersion = 1

// runResult is the JSON document `jitbench run --json` prints.
type runResult struct {
	Version   int               `json:"version"`
	Pass      bool              `json:"pass"`
	Elapsed   time.Duration     `json:"elapsed"`
	Scenarios []*harness.Report `json:"scenarios"`
	// Errors are scenarios that could not run at all.
	Errors []runError `json:"errors,omitempty"`
	// Skipped are scenarios that cannot run here, and why: no Docker engine
	// for a container scenario, or a --topology their faults cannot use.
	Skipped []runError `json:"skipped,omitempty"`
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
		target   string
	)
	c := &cobra.Command{
		Use:   "run [NAME|FILE ...]",
		Short: "Run scenarios and check their expectations",
		Long: `Run scenarios against the reference JIT system and check each one's
expectations: the share of calls with each gRPC code and reason, and latency
bounds. A scenario is a library name ('jitbench list' shows them) or a YAML
file. Each prints the calls by code, reason and phase, and every check with
what it expected and what the run got.

The calls go through the load generator of 'jitbench load', so -o writes
what 'jitbench load -o' writes: a jitbench.result/v1 document (latency
histograms per code and reason, a per-second timeline) whose expectations
are the scenario's checks, for 'jitbench report render|merge|diff'. One
scenario writes the file -o names; several (or -o naming an existing
directory) write one file per scenario, DIR/NAME.json. --json prints the
reports of every scenario as one JSON document instead of tables.

--target FILE runs the scenarios against your own service instead, which
the target config FILE describes (the file 'jitbench conformance --config'
reads; 'jitbench conformance init' writes one). jitbench signs credentials
in the service's own layout with the keys it trusts, gets each grant through
a reference broker it runs itself (so approval faults act), and acts on the
service from outside: client-side faults directly, network faults through
a fault proxy it puts in front of the service, key-source faults through
the key source it serves (key_source in the config). A valid call is made
first: a service that refuses it stops the run with exit 2. Scenarios whose
faults act inside the service (its build, its clock) are skipped, saying
why; 'jitbench list --external' shows the scenarios written for any
service. Failed calls carry a diagnosis told from what the service
returned and what was sent.

--topology runs every scenario on one topology instead of its own:
inprocess, tcp, or container, where the broker and the Vault run in Docker
containers built from this jitbench (from source when run inside its
checkout; 'make images' builds them ahead). A scenario on topology
container is skipped, with a line saying why, where no Docker engine
answers; so is a scenario whose faults cannot act on the topology
--topology names (a container fault elsewhere, a skewed broker clock in a
container).

--all runs the reference's library; with --target, the external library
(tag external). --tag picks from the whole library either way.

Exit code 0 when every expectation holds (skipped scenarios allowed), 1
when one fails (or a scenario cannot run), 2 for bad usage or a bad
scenario file (named file:line:col).`,
		Example: `  jitbench run --all
  jitbench run clock-drift
  jitbench run --tag approval --topology tcp
  jitbench run --tag container                   # the broker and the Vault in Docker containers
  jitbench run --tag external --target target.yaml   # the external library against your service
  jitbench run my-scenario.yaml -o result.json && jitbench report render --format html result.json -o report.html
  jitbench run --all -o results/ && jitbench report render --format junit results/clock-drift.json`,
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
			if err == nil && all {
				picked = harness.LibraryFor(picked, target != "")
			}
			if err != nil {
				return err
			}
			if err := checkTopologies(picked, topology); err != nil {
				return err
			}
			if err := checkTargets(args, picked, target); err != nil {
				return err
			}
			opts := []harness.Option{harness.WithTopology(topology)}
			if topology == harness.TopologyExternal && target == "" {
				return usagef("--topology external runs against your own service: give its target config with --target FILE")
			}
			tgt, err := targetOptions(cmd.Context(), target, topology)
			if err != nil {
				return err
			}
			opts = append(opts, tgt...)
			if target != "" {
				topology = harness.TopologyExternal
			}
			if cmd.Flags().Changed("seed") {
				opts = append(opts, harness.WithSeed(seed))
			}
			var files *resultFiles
			if out != "" {
				if files, err = newResultFiles(out, len(picked)); err != nil {
					return err
				}
			}
			// Ctrl-C ends the run cleanly: the scenario under way stops and
			// removes its containers, and the rest do not start.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			res := runAll(ctx, picked, named(args), topology, opts, cmd.OutOrStdout(), cmd.ErrOrStderr(), !asJSON)
			if asJSON {
				if err := writeJSON(cmd.OutOrStdout(), res); err != nil {
					return err
				}
			}
			if files != nil {
				written, err := files.write(res.Scenarios)
				if err != nil {
					return err
				}
				files.report(cmd.ErrOrStderr(), written)
			}
			if !res.Pass {
				return errFailed
			}
			return nil
		},
	}
	c.Flags().BoolVar(&all, "all", false, "run every library scenario")
	c.Flags().StringSliceVar(&tags, "tag", nil, "run the library scenarios with this tag (repeatable)")
	c.Flags().StringVar(&topology, "topology", "", "inprocess, tcp or container (default: each scenario's own); external with --target")
	c.Flags().StringVarP(&out, "output", "o", "", "also write each scenario's result (jitbench.result/v1, for 'jitbench report') to this file, or DIR/NAME.json for several")
	c.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON instead of tables")
	c.Flags().Int64Var(&seed, "seed", 0, "replace every scenario's seed")
	c.Flags().StringVar(&target, "target", "", targetHelp)
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

// named reports whether the command line named a scenario (by name or
// file), rather than --all or --tag picking it.
func named(args []string) func(*scenarios.Scenario) bool {
	return func(s *scenarios.Scenario) bool {
		return slices.Contains(args, s.Name) || (s.File != "" && slices.Contains(args, s.File))
	}
}

// checkTargets refuses a scenario named on the command line that runs only
// against a user's service when no --target says which: picked from the
// library by --all or --tag, such a scenario is skipped instead.
func checkTargets(args []string, picked []*scenarios.Scenario, target string) error {
	if target != "" {
		return nil
	}
	for _, s := range picked {
		if s.Topology == harness.TopologyExternal && (slices.Contains(args, s.Name) || slices.Contains(args, s.File)) {
			return usagef("scenario %s runs against your own service: give its target config with --target FILE", s.Name)
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

// runAll runs each scenario in turn (on topology, when set), printing its
// report as text when text is set, and progress on stderr when stderr is a
// terminal.
func runAll(ctx context.Context, picked []*scenarios.Scenario, named func(*scenarios.Scenario) bool, topology string, opts []harness.Option, stdout, stderr io.Writer, text bool) *runResult {
	res := &runResult{Version: resultVersion, Pass: true, Scenarios: []*harness.Report{}}
	progress := isTerminal(stderr)
	start := time.Now()
	failed := []string{}
	for i, s := range picked {
		if ctx.Err() != nil {
			res.Pass = false
			res.Errors = append(res.Errors, runError{Scenario: s.Name, Error: "not run: interrupted"})
			failed = append(failed, s.Name)
			if text {
				fmt.Fprintf(stdout, "ERROR  %s: not run: interrupted\n", s.Name)
			}
			continue
		}
		if progress {
			fmt.Fprintf(stderr, "\r\033[K[%d/%d] %s …", i+1, len(picked), s.Name)
		}
		rep, err := harness.RunScenario(ctx, s, opts...)
		if skipped(err, s, topology, named(s)) {
			res.Skipped = append(res.Skipped, runError{Scenario: s.Name, Error: err.Error()})
			if text {
				fmt.Fprintf(stdout, "SKIP   %s: %v\n\n", s.Name, err)
			}
			continue
		}
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
		skips := ""
		if n := len(res.Skipped); n > 0 {
			skips = fmt.Sprintf(", %d skipped", n)
		}
		fmt.Fprintf(stdout, "%d %s: %d passed, %d failed%s (%v)\n", len(picked), noun, len(picked)-len(failed)-len(res.Skipped), len(failed), skips, res.Elapsed)
		if len(failed) > 0 {
			fmt.Fprintf(stdout, "failed: %s\n", strings.Join(failed, ", "))
		}
	}
	return res
}

// skipped reports whether err says scenario s cannot run here rather than
// that it failed: no Docker engine answers for its containers, or its
// faults cannot act on the topology --topology forced on it.
func skipped(err error, s *scenarios.Scenario, topology string, named bool) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, harness.ErrNoEngine), errors.Is(err, harness.ErrNeedsTarget):
		// No engine, or no service of yours to run it on.
		return true
	case errors.Is(err, harness.ErrNotOnTarget):
		// A fault your service gives no way to act on: skipped when the
		// library picked the scenario, an error when you named it.
		return !named
	}
	forced := topology != "" && topology != cmp.Or(s.Topology, harness.TopologyInProcess)
	return forced && (errors.Is(err, fakes.ErrNoContainers) || errors.Is(err, harness.ErrNeedsLocal))
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

// resultFiles is where `run -o` and `repro -o` write each scenario's
// result (a jitbench.result/v1 document, which `jitbench report` reads): a
// single file for one scenario, else one file per scenario in a directory,
// named after the scenario. One document per file keeps every result
// readable by `report render`, `merge` and `diff` as it is.
type resultFiles struct {
	path string
	dir  bool
	used map[string]bool // file names taken in dir
}

// newResultFiles checks path for n scenarios before anything runs, so a
// bad path fails at once: a one-scenario file is created, a directory made.
// An existing directory always takes one file per scenario.
func newResultFiles(path string, n int) (*resultFiles, error) {
	fi, err := os.Stat(path)
	isDir := err == nil && fi.IsDir()
	if n == 1 && !isDir {
		f, err := os.Create(path)
		if err != nil {
			return nil, usagef("-o: %v", err)
		}
		_ = f.Close()
		return &resultFiles{path: path}, nil
	}
	if !isDir && strings.HasSuffix(path, ".json") {
		return nil, usagef("-o %s: %d scenarios write one result each: name a directory, where each goes to NAME.json", path, n)
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, usagef("-o: %v", err)
	}
	return &resultFiles{path: path, dir: true, used: map[string]bool{}}, nil
}

// write writes the result of each report, stamped with this jitbench's
// version; a single file is removed again when its scenario did not run.
// It returns the files written.
func (r *resultFiles) write(reps []*harness.Report) ([]string, error) {
	var written []string
	for _, rep := range reps {
		if rep.Result == nil {
			continue
		}
		res := *rep.Result
		res.Run.Version = moduleVersion()
		path := r.path
		if r.dir {
			path = filepath.Join(r.path, r.fileName(rep.Scenario))
		}
		if err := writeReport(path, &res, "json"); err != nil {
			return written, err
		}
		written = append(written, path)
	}
	if !r.dir && len(written) == 0 {
		if err := os.Remove(r.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("-o: %w", err)
		}
	}
	return written, nil
}

// report says on w where the results went.
func (r *resultFiles) report(w io.Writer, written []string) {
	switch len(written) {
	case 0:
	case 1:
		fmt.Fprintf(w, "jitbench: wrote %s\n", written[0])
	default:
		fmt.Fprintf(w, "jitbench: wrote %d results to %s\n", len(written), r.path)
	}
}

// fileName returns NAME.json, or NAME-2.json and so on when two scenario
// files share a name.
func (r *resultFiles) fileName(scenario string) string {
	name := scenario
	for n := 2; r.used[name]; n++ {
		name = fmt.Sprintf("%s-%d", scenario, n)
	}
	r.used[name] = true
	return name + ".json"
}
