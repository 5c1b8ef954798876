package containers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/jitbench/jitbench/reference/broker/store"
)

// auditTimeout bounds the one-off export container.
const auditTimeout = 30 * time.Second

// AuditLog stops the broker cleanly and returns its audit log as
// `jitbench audit export` reads it from the broker's volume, run in a
// one-off container of the broker image with no network: the store can
// only be read while no broker holds it. The broker stays stopped;
// RestartBroker starts it again.
func (c *Cluster) AuditLog(ctx context.Context) ([]store.AuditRecord, error) {
	if err := c.StopBroker(ctx); err != nil {
		return nil, err
	}
	code, out, err := runToExit(ctx, containerSpec{
		name: "jitbench-" + c.id + "-audit-" + randomID(2), image: c.opts.Images.Broker,
		entrypoint: []string{"/jitbench"}, cmd: []string{"audit", "export", "--data-dir", brokerDataDir},
		mounts: testcontainers.Mounts(testcontainers.VolumeMount(c.volume, brokerDataDir)),
		labels: c.labels("audit"), logger: c.opts.Logger,
	}, auditTimeout)
	if err != nil {
		return nil, fmt.Errorf("export the audit log: %w", err)
	}
	if code != 0 {
		return nil, fmt.Errorf("export the audit log: jitbench audit export exited %d: %s", code, bytes.TrimSpace(out))
	}
	var recs []store.AuditRecord
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		var r store.AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("audit log line %d: %w: %q", n, err, sc.Text())
		}
		recs = append(recs, r)
	}
	return recs, sc.Err()
}
