// Command jitbench tests Just-In-Time access approval in gRPC systems: it
// serves the reference JIT system, requests and reviews access on its broker,
// mints and explains tokens, exports the broker's audit log, and (as later
// commands land) runs scenarios, load tests and conformance checks.
//
// Exit codes: 0 success, 1 a check failed, 2 bad usage, input or config.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/jitbench/jitbench/harness/containers"
)

// Exit codes shared by every command.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// exitError carries the process exit code with the error to print.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr marks err as bad usage, input or config (exit 2).
func usageErr(err error) error { return &exitError{code: exitUsage, err: err} }

// usagef formats a bad-usage error (exit 2).
func usagef(format string, args ...any) error { return usageErr(fmt.Errorf(format, args...)) }

// failed marks err as a failed check or a refusal to report (exit 1).
func failed(err error) error { return &exitError{code: exitFailed, err: err} }

// errFailed is returned when a check ran and failed (exit 1); the command has already reported why.
var errFailed = &exitError{code: exitFailed, err: errors.New("check failed")}

func main() {
	containers.Quiet() // testcontainers' banner is not jitbench's output
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line args with the given standard streams and
// returns the process exit code; cancelling ctx stops a running serve. It is
// the one place errors become exit codes.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee != errFailed {
			fmt.Fprintln(stderr, "jitbench:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "jitbench:", err)
	return exitFailed
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "jitbench",
		Short: "Test Just-In-Time access approval in gRPC systems",
		Long: `jitbench tests Just-In-Time (JIT) access approval in gRPC systems.

It serves a reference JIT system (an access broker and a JIT-protected
service), requests, reviews and revokes access on the broker, mints and
explains the two credentials of the JIT model (an identity token and a JIT
grant), and tells why a call was refused.

Exit codes: 0 success, 1 a check failed, 2 bad usage, input or config.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usagef("%s: %v (see '%s --help')", c.CommandPath(), err, c.CommandPath())
	})
	root.AddCommand(newVersionCmd(), newServeCmd(), newAccessCmd(), newAuditCmd(), newTokenCmd(), newDemoCmd())
	root.AddCommand(newListCmd(), newRunCmd(), newReproCmd())
	root.AddCommand(newLoadCmd(), newReportCmd())
	root.AddCommand(newConformanceCmd())
	root.AddCommand(newProxyCmd())
	// Unknown subcommands and stray arguments are usage errors too.
	wrapArgs(root)
	return root
}

// noArgs refuses positional arguments on a command that takes none, naming
// the first one. cobra.NoArgs calls it an "unknown command", which misleads
// on a leaf command such as 'token mint'.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q: this command takes no arguments", args[0])
	}
	return nil
}

// wrapArgs makes argument-count errors exit 2 like flag errors.
func wrapArgs(c *cobra.Command) {
	for _, sub := range c.Commands() {
		wrapArgs(sub)
	}
	if c.HasSubCommands() && c.RunE == nil {
		// A group run alone prints its help; a group given an unknown
		// subcommand is bad usage. Cobra would print help and exit 0 for both.
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for %q (see '%s --help')", args[0], cmd.CommandPath(), cmd.CommandPath())
			}
			return cmd.Help()
		}
		return
	}
	if c.Args == nil {
		return
	}
	check := c.Args
	c.Args = func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usagef("%s: %v (see '%s --help')", cmd.CommandPath(), err, cmd.CommandPath())
		}
		return nil
	}
}
