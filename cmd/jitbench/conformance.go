package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reports"
)

// conformanceFlags are the conformance command's settings.
type conformanceFlags struct {
	config, knownFailing      string
	run, skip                 []string
	junit, markdown, out      string
	asJSON, example, listCase bool
}

func newConformanceCmd() *cobra.Command {
	var f conformanceFlags
	c := &cobra.Command{
		Use:   "conformance --config target.yaml [flags]",
		Short: "Check that a JIT-protected gRPC service answers every credential fault with the right status",
		Long: `Run the conformance catalog against a JIT-protected gRPC service: 42 cases
(forged, expired, out-of-scope and replayed tokens, alg none, HS256 signed
with a public key, missing identities, revoked grants, short deadlines,
broker and network outages) that each expect a gRPC status under the
target's profile (two-token: identity + JIT grant; single-token: one JWT).

Every case is also held to the catalog's rules: a negative case never
returns OK; a credential fault never answers UNKNOWN or INTERNAL;
PERMISSION_DENIED only follows a verified identity; no token is echoed in
the status, its details or its metadata; every call ends within a bound
(1 s for a 64 KiB token). A case fails with the first rule it broke.

The target config (YAML, read strictly: errors name file:line:col) gives
the address, TLS, a protected method and its request, the test signing keys
of the issuers the service trusts, its audience, leeway and pinned
algorithms, and optionally a streaming method, a broker, one-shot support
and a resource pattern; --example-config prints a commented one for
'jitbench serve'. Cases whose needs the config does not meet are skipped
with the reason; DL-003, OUT-002 and OUT-003 need control of the service's
key source and run only from Go (conformance.Run).

A known-failing list (one case id per line, # comments) turns a listed
failing case into "known failing"; a listed case that passes fails the run
until it is removed from the list.

Exit codes: 0 every selected case passed (skips allowed), 1 a case failed,
2 bad flags, config or list, or a target that cannot be reached.`,
		Example: `  jitbench conformance --example-config > target.yaml
  jitbench serve &        # the reference, on 127.0.0.1:7443 and :7444
  jitbench conformance --config target.yaml
  jitbench conformance --config target.yaml --run 'ALG-*' --run 'KEY-*'
  jitbench conformance --config target.yaml --skip 'DL-*' --known-failing known-failing.txt
  jitbench conformance --config target.yaml --junit conformance.xml --markdown "$GITHUB_STEP_SUMMARY" -o conformance.json
  jitbench conformance --list`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runConformance(cmd, &f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.config, "config", "", "the target config file (YAML; --example-config prints one)")
	fl.StringArrayVar(&f.run, "run", nil, "run only the cases whose id matches this glob, e.g. 'ALG-*' (repeatable)")
	fl.StringArrayVar(&f.skip, "skip", nil, "leave out the cases whose id matches this glob (repeatable)")
	fl.StringVar(&f.knownFailing, "known-failing", "", "file of case ids the target is known to fail, one per line, # comments")
	fl.StringVar(&f.junit, "junit", "", "also write the result as JUnit XML to this file")
	fl.StringVar(&f.markdown, "markdown", "", "also write the result as Markdown to this file (e.g. $GITHUB_STEP_SUMMARY)")
	fl.StringVarP(&f.out, "output", "o", "", "also write the result as JSON to this file")
	fl.BoolVar(&f.asJSON, "json", false, "print the result as JSON instead of the table")
	fl.BoolVar(&f.example, "example-config", false, "print a commented example target config (for 'jitbench serve') and exit")
	fl.BoolVar(&f.listCase, "list", false, "print the catalog: ids, expected codes per profile, needs, faults")
	return c
}

func runConformance(cmd *cobra.Command, f *conformanceFlags) error {
	out := cmd.OutOrStdout()
	switch {
	case f.example:
		_, err := out.Write(conformance.ExampleConfig())
		return err
	case f.listCase:
		return listCatalog(out)
	case f.config == "":
		return usagef("--config is required: the target's config file ('jitbench conformance --example-config' prints one)")
	}
	cfg, err := conformance.LoadConfig(f.config)
	if err != nil {
		var ce *conformance.ConfigError
		if errors.As(err, &ce) {
			return usageErr(err) // file:line:col: what is wrong
		}
		return usagef("--config: %v", err)
	}
	opts := conformance.Options{Run: f.run, Skip: f.skip, Version: moduleVersion()}
	if f.knownFailing != "" {
		if opts.KnownFailing, err = conformance.LoadKnownFailing(f.knownFailing); err != nil {
			return usagef("--known-failing: %v", err)
		}
	}
	res, err := conformance.RunSuite(cmd.Context(), cfg, opts)
	switch {
	case errors.Is(err, conformance.ErrSelection):
		return usageErr(err)
	case err != nil:
		return usagef("%s: %v", f.config, err)
	}
	format := "text"
	if f.asJSON {
		format = "json"
	}
	if err := reports.RenderConformance(out, res, format); err != nil {
		return err
	}
	for _, file := range []struct{ flag, path, format string }{
		{"--junit", f.junit, "junit"}, {"--markdown", f.markdown, "md"}, {"--output", f.out, "json"},
	} {
		if file.path == "" {
			continue
		}
		if err := writeConformance(file.path, res, file.format); err != nil {
			return usagef("%s: %v", file.flag, err)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "jitbench: wrote %s\n", file.path)
	}
	if res.Failed() {
		return errFailed
	}
	return nil
}

// writeConformance renders res into a new or replaced file.
func writeConformance(path string, res *reports.ConformanceResult, format string) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := reports.RenderConformance(file, res, format); err != nil {
		_ = file.Close()
		return err
	}
	return file.Close()
}

// listCatalog prints every case: id, the code of each profile, the codes allowed instead, needs and fault.
func listCatalog(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTWO-TOKEN\tSINGLE-TOKEN\tALSO\tNEEDS\tFAULT")
	for _, c := range conformance.Catalog() {
		also := make([]string, len(c.Also))
		for i, a := range c.Also {
			also[i] = reason.CodeName(a)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, wantName(c.TwoToken), wantName(c.SingleToken),
			orDash(strings.Join(also, ",")), orDash(string(c.Needs)), c.Fault)
	}
	return tw.Flush()
}

func wantName(w conformance.Want) string {
	if w.NotApplicable {
		return "n/a"
	}
	return reason.CodeName(w.Code)
}
