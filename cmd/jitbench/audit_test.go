package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker/store"
)

// parseAudit reads 'audit export' output: one JSON record per line.
func parseAudit(t *testing.T, out string) []store.AuditRecord {
	t.Helper()
	var recs []store.AuditRecord
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec store.AuditRecord
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&rec), "line %q", sc.Text())
		recs = append(recs, rec)
	}
	require.NoError(t, sc.Err())
	return recs
}

// actionsOf returns the actions recorded for request id, in order.
func actionsOf(recs []store.AuditRecord, id string) []string {
	var got []string
	for _, r := range recs {
		if r.RequestID == id {
			got = append(got, r.Action)
		}
	}
	return got
}

// TestAuditExport runs serve with --data-dir, walks two requests through
// the CLI, and exports the audit log once serve has stopped; a second serve
// on the same directory finds everything where it was left.
func TestAuditExport(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state") // created by serve
	p := startServe(t, "--addr", "127.0.0.1:0", "--data-dir", dir, "--json")
	info := p.info(t)
	b := info.BrokerAddr
	approved := requestJSON(t, b, "--justification", "rotate the db password").GetId()
	require.Equal(t, exitOK, access(t, b, "approve", with(asCarol, approved, "--comment", "on call")...).code)
	r := access(t, b, "revoke", with(asCarol, approved, "--comment", "done", "--json")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	grantID := parseRequest(t, r.stdout).GetGrantId()
	require.NotEmpty(t, grantID)
	denied := requestJSON(t, b).GetId()
	require.Equal(t, exitOK, access(t, b, "deny", with(asCarol, denied, "--comment", "no")...).code)

	// The broker holds the directory while it runs.
	r = runCLI(t, "", "audit", "export", "--data-dir", dir)
	assert.Equal(t, exitUsage, r.code)
	assert.Empty(t, r.stdout)
	assert.Equal(t, "jitbench: --data-dir: "+dir+" is in use: the broker is running; stop it first ('jitbench serve' stops on Ctrl-C or SIGTERM)\n", r.stderr)

	code, _ := p.stop(t)
	require.Equal(t, exitOK, code, p.stderr.String())

	r = runCLI(t, "", "audit", "export", "--data-dir", dir)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Empty(t, r.stderr)
	recs := parseAudit(t, r.stdout)
	for i, rec := range recs {
		assert.Equal(t, uint64(i+1), rec.Seq, "records in order")
		assert.False(t, rec.At.IsZero())
	}
	assert.Equal(t, []string{"requested", "reviewed", "approved", "grant_issued", "revoked"}, actionsOf(recs, approved))
	assert.Equal(t, []string{"requested", "reviewed", "denied"}, actionsOf(recs, denied))
	for _, rec := range recs {
		switch {
		case rec.RequestID == approved && rec.Action == "requested":
			assert.Equal(t, "alice", rec.Actor)
			assert.Equal(t, "rotate the db password", rec.Reason)
		case rec.RequestID == approved && rec.Action == "approved":
			assert.Equal(t, "carol", rec.Actor)
			assert.Equal(t, "on call", rec.Reason)
			assert.Positive(t, rec.ApprovalLatency)
		case rec.Action == "grant_issued", rec.Action == "revoked":
			assert.Equal(t, grantID, rec.GrantID, rec.Action)
		}
	}

	t.Run("-o writes a file and never overwrites one", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "audit.jsonl")
		r := runCLI(t, "", "audit", "export", "--data-dir", dir, "-o", out)
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.Empty(t, r.stdout)
		got, err := os.ReadFile(out)
		require.NoError(t, err)
		assert.Equal(t, recs, parseAudit(t, string(got)))

		require.NoError(t, os.WriteFile(out, []byte("precious\n"), 0o600))
		r = runCLI(t, "", "audit", "export", "--data-dir", dir, "-o", out)
		assert.Equal(t, exitUsage, r.code)
		assert.Equal(t, "jitbench: -o: "+out+" exists; not overwriting it\n", r.stderr)
		got, err = os.ReadFile(out)
		require.NoError(t, err)
		assert.Equal(t, "precious\n", string(got))
	})

	t.Run("a restarted broker keeps its state", func(t *testing.T) {
		p := startServe(t, "--addr", "127.0.0.1:0", "--data-dir", dir, "--json")
		b := p.info(t).BrokerAddr
		for id, want := range map[string]jitv1.State{approved: jitv1.State_STATE_REVOKED, denied: jitv1.State_STATE_DENIED} {
			r := access(t, b, "show", with(asAlice, id, "--json")...)
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Equal(t, want, parseRequest(t, r.stdout).GetState())
		}
		code, _ := p.stop(t)
		require.Equal(t, exitOK, code, p.stderr.String())
	})
}

// TestServeDataDirInUse: a second serve on a directory another one holds exits 2.
func TestServeDataDirInUse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServe(t, "--addr", "127.0.0.1:0", "--data-dir", dir, "--json")
	p.info(t)
	r := runCLI(t, "", "serve", "--addr", "127.0.0.1:0", "--broker-addr", "127.0.0.1:0", "--data-dir", dir)
	assert.Equal(t, exitUsage, r.code)
	assert.Empty(t, r.stdout)
	assert.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
	assert.Contains(t, r.stderr, "jitbench: --data-dir: ")
	assert.Contains(t, r.stderr, "is another 'jitbench serve' using it?")
}

// auditDir returns a data directory holding a stopped broker's store with
// n audit records (request r-0000, r-0001, ...).
func auditDir(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	s, err := store.Open(dir, store.Options{})
	require.NoError(t, err)
	for i := range n {
		rec := store.AuditRecord{At: time.Date(2026, 3, 1, 9, 30, i, 0, time.UTC), RequestID: fmt.Sprintf("r-%04d", i),
			Actor: "alice", Action: "requested", To: "PENDING", Reason: "rotate the db password"}
		require.NoError(t, s.Commit(context.Background(), store.Batch{Audit: []store.AuditRecord{rec}}))
	}
	require.NoError(t, s.Close())
	return dir
}

// tamperAudit changes one letter of the reason of the record of request id
// in the store file, as an editor would: the file stays a valid bbolt file.
// Every copy is changed: bbolt's free pages keep stale ones.
func tamperAudit(t *testing.T, dir, id string) {
	t.Helper()
	path := filepath.Join(dir, storeFile)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	needle := `"request_id":"` + id + `","actor":"alice","action":"requested","from":"","to":"PENDING","reason":"rotate`
	require.Contains(t, string(raw), needle)
	raw = bytes.ReplaceAll(raw, []byte(needle), []byte(strings.Replace(needle, "rotate", "Rotate", 1)))
	require.NoError(t, os.WriteFile(path, raw, 0o600))
}

func TestAuditVerify(t *testing.T) {
	t.Parallel()
	dir := auditDir(t, 3)
	r := runCLI(t, "", "audit", "verify", "--data-dir", dir)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Regexp(t, `^3 records, chain intact, head [0-9a-f]{64}\n$`, r.stdout)
	assert.Empty(t, r.stderr)

	// The head is the last exported record's hash.
	exp := runCLI(t, "", "audit", "export", "--data-dir", dir)
	require.Equal(t, exitOK, exp.code, exp.stderr)
	recs := parseAudit(t, exp.stdout)
	require.Len(t, recs, 3)
	assert.Equal(t, "3 records, chain intact, head "+recs[2].Hash+"\n", r.stdout)

	tamperAudit(t, dir, "r-0001")
	r = runCLI(t, "", "audit", "verify", "--data-dir", dir)
	assert.Equal(t, exitFailed, r.code)
	assert.Empty(t, r.stdout)
	assert.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
	assert.Contains(t, r.stderr, "jitbench: audit verify: store: "+filepath.Join(dir, storeFile)+": corrupt data directory: audit hash chain broken at record 2: its hash does not match its contents")

	r = runCLI(t, "", "audit", "export", "--data-dir", dir)
	assert.Equal(t, exitFailed, r.code, "a broken chain is not exported")
	assert.Empty(t, r.stdout)
	assert.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
	assert.Contains(t, r.stderr, "jitbench: audit export: not exporting a log that fails verification: ")
	assert.Contains(t, r.stderr, "at record 2")

	out := filepath.Join(t.TempDir(), "audit.jsonl")
	r = runCLI(t, "", "audit", "export", "--data-dir", dir, "-o", out)
	assert.Equal(t, exitFailed, r.code)
	assert.NoFileExists(t, out)
}

// TestAuditUnreadableStore: a store that cannot be opened at all is bad
// input for both commands (exit 2), in one line naming the file.
func TestAuditUnreadableStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, storeFile)
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	for _, cmd := range []string{"verify", "export"} {
		r := runCLI(t, "", "audit", cmd, "--data-dir", dir)
		assert.Equal(t, exitUsage, r.code, cmd)
		assert.Empty(t, r.stdout, cmd)
		assert.Equal(t, "jitbench: --data-dir: store: "+path+": corrupt data directory: the file is empty (0 bytes): only a missing broker.db starts a new store\n", r.stderr, cmd)
	}
	r := runCLI(t, "", "audit", "verify", "--data-dir", t.TempDir())
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "holds no broker state (no broker.db)")
}
