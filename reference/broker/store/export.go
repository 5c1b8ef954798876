package store

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
)

// ExportAudit writes s's audit log to w as JSON lines, one AuditRecord per
// line in Seq order with its chain hash, the format `jitbench audit export`
// prints. A record that fails the hash chain ends the export with an error
// wrapping ErrChainBroken, the records before it written; callers that must
// not write part of a broken log verify it first (Open does).
func ExportAudit(s Store, w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw) // Encode ends each record with a newline
	var werr error
	err := s.Audit(0, func(rec AuditRecord) bool {
		werr = enc.Encode(rec)
		return werr == nil
	})
	if err != nil {
		return fmt.Errorf("export audit: %w", err)
	}
	if werr != nil {
		return fmt.Errorf("export audit: %w", werr)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export audit: %w", err)
	}
	return nil
}
