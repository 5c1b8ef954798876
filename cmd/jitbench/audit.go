package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/jitbench/jitbench/reference/broker/store"
)

// storeFile is the file store.Open keeps in a data directory. The audit
// commands check for it first, so that naming the wrong directory does not
// create an empty store there.
const storeFile = "broker.db"

// auditChainHelp is how the audit log's hash chain works, for both commands.
const auditChainHelp = `Each record carries "hash", its link in a SHA-256 hash chain: the hash of
the previous record's hash (32 zero bytes before record 1) followed by the
record's canonical bytes, which are its line without the "hash" member.
Changing, removing or reordering a record breaks the chain at that record.
Whoever can write broker.db can also recompute every later hash, so keep a
copy of the head that 'jitbench audit verify' prints: a different head later
means the log was rewritten.`

func newAuditCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "audit",
		Short: "Read and verify the broker's audit log",
		Long: `Read the audit log of a broker that keeps its state in a data directory
('jitbench serve --data-dir DIR'): every transition of every access request,
with who, what, when, why and how long approval took, in a hash chain that
'jitbench audit verify' checks.`,
	}
	c.AddCommand(newAuditExportCmd(), newAuditVerifyCmd())
	return c
}

func newAuditExportCmd() *cobra.Command {
	var dataDir, out string
	c := &cobra.Command{
		Use:   "export",
		Short: "Write the broker's audit log as JSON lines",
		Long: `Write the audit log kept in --data-dir as JSON lines, one record per line in
order: seq, at, request_id, actor, action (requested, reviewed, approved,
grant_issued, denied, expired, withdrawn, ended, revoked), from and to
states, reason, approval_latency_ns on decisions, grant_id and hash.

` + auditChainHelp + `

Export checks the whole store, chain included, before it writes a line: a
log that fails its chain is not exported (exit 1, nothing written; 'jitbench
audit verify' names the record), and a store that cannot be read is refused
(exit 2).

The broker must be stopped: it holds the data directory's lock while it
runs. -o never overwrites an existing file.`,
		Example: `  jitbench audit export --data-dir ./broker-state
  jitbench audit export --data-dir ./broker-state -o audit.jsonl
  jitbench audit export --data-dir ./broker-state | jq -c 'select(.action == "revoked")'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkDataDir(dataDir); err != nil {
				return err
			}
			toFile := out != "" && out != "-"
			if toFile {
				// Checked before the store is opened, so a refusal leaves
				// nothing behind; O_EXCL below catches a file made since.
				if _, err := os.Lstat(out); err == nil {
					return usagef("-o: %s exists; not overwriting it", out)
				}
			}
			s, err := store.Open(dataDir, store.Options{})
			if err != nil {
				if errors.Is(err, store.ErrChainBroken) {
					return failed(fmt.Errorf("audit export: not exporting a log that fails verification: %v", err))
				}
				return storeErr(dataDir, err)
			}
			defer s.Close()
			if !toFile {
				return exportTo(s, cmd.OutOrStdout())
			}
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if errors.Is(err, fs.ErrExist) {
				return usagef("-o: %s exists; not overwriting it", out)
			}
			if err != nil {
				return usagef("-o: %v", err)
			}
			err = exportTo(s, f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				_ = os.Remove(out) // ours, and incomplete
			}
			return err
		},
	}
	c.Flags().StringVar(&dataDir, "data-dir", "", "the broker's data directory (required)")
	c.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout (never overwrites)")
	return c
}

func newAuditVerifyCmd() *cobra.Command {
	var dataDir string
	c := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's hash chain",
		Long: `Check every record of the audit log kept in --data-dir against its hash
chain, and print how many records there are and the chain's head.

` + auditChainHelp + `

Exit codes: 0 the chain is intact ("N records, chain intact, head HASH");
1 it is broken, and the message names the first record that fails (changed,
missing, or cut off the end); 2 the store cannot be read at all, or the
broker is running (it holds the data directory's lock).`,
		Example: `  jitbench audit verify --data-dir ./broker-state`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkDataDir(dataDir); err != nil {
				return err
			}
			chain, err := store.VerifyAudit(dataDir)
			switch {
			case errors.Is(err, store.ErrChainBroken):
				return failed(fmt.Errorf("audit verify: %v", err))
			case err != nil:
				return storeErr(dataDir, err)
			case chain.Records == 0:
				fmt.Fprintln(cmd.OutOrStdout(), "0 records, chain intact (an empty log)")
			case chain.Records == 1:
				fmt.Fprintf(cmd.OutOrStdout(), "1 record, chain intact, head %s\n", chain.Head)
			default:
				fmt.Fprintf(cmd.OutOrStdout(), "%d records, chain intact, head %s\n", chain.Records, chain.Head)
			}
			return nil
		},
	}
	c.Flags().StringVar(&dataDir, "data-dir", "", "the broker's data directory (required)")
	return c
}

// checkDataDir refuses a missing --data-dir, or one without broker state.
func checkDataDir(dataDir string) error {
	if dataDir == "" {
		return usagef("--data-dir is required: the directory 'jitbench serve --data-dir' kept its state in")
	}
	if _, err := os.Stat(dataDir); err != nil {
		return usagef("--data-dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, storeFile)); err != nil {
		return usagef("--data-dir: %s holds no broker state (no %s)", dataDir, storeFile)
	}
	return nil
}

// storeErr is a store that cannot be opened: in use, damaged or unreadable,
// all bad input (exit 2).
func storeErr(dataDir string, err error) error {
	if errors.Is(err, store.ErrLocked) {
		return usagef("--data-dir: %s is in use: the broker is running; stop it first ('jitbench serve' stops on Ctrl-C or SIGTERM)", dataDir)
	}
	return usagef("--data-dir: %v", err)
}

func exportTo(s store.Store, w io.Writer) error {
	if err := store.ExportAudit(s, w); err != nil {
		if errors.Is(err, store.ErrChainBroken) {
			// Only damage done while export ran can get here.
			return failed(fmt.Errorf("audit export: %w", err))
		}
		return fmt.Errorf("audit export: %w", err)
	}
	return nil
}
