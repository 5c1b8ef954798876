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

// storeFile is the file store.Open keeps in a data directory. Export checks
// for it first, so that naming the wrong directory does not create an empty
// store there.
const storeFile = "broker.db"

func newAuditCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "audit",
		Short: "Read the broker's audit log",
		Long: `Read the audit log of a broker that keeps its state in a data directory
('jitbench serve --data-dir DIR'): every transition of every access request,
with who, what, when, why and how long approval took.`,
	}
	c.AddCommand(newAuditExportCmd())
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
states, reason, approval_latency_ns on decisions and grant_id.

The broker must be stopped: it holds the data directory's lock while it
runs. -o never overwrites an existing file.`,
		Example: `  jitbench audit export --data-dir ./broker-state
  jitbench audit export --data-dir ./broker-state -o audit.jsonl
  jitbench audit export --data-dir ./broker-state | jq -c 'select(.action == "revoked")'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataDir == "" {
				return usagef("--data-dir is required: the directory 'jitbench serve --data-dir' kept its state in")
			}
			if _, err := os.Stat(dataDir); err != nil {
				return usagef("--data-dir: %v", err)
			}
			if _, err := os.Stat(filepath.Join(dataDir, storeFile)); err != nil {
				return usagef("--data-dir: %s holds no broker state (no %s)", dataDir, storeFile)
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
			switch {
			case errors.Is(err, store.ErrLocked):
				return usagef("--data-dir: %s is in use: the broker is running; stop it first ('jitbench serve' stops on Ctrl-C or SIGTERM)", dataDir)
			case err != nil:
				return usagef("--data-dir: %v", err)
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

func exportTo(s store.Store, w io.Writer) error {
	if err := store.ExportAudit(s, w); err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	return nil
}
