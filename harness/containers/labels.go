package containers

import (
	"crypto/rand"
	"encoding/hex"
)

// Labels put on everything the package creates.
const (
	// LabelRun names the run (a test binary, a scenario run) that created
	// the object: Leaks and cleanups select by it.
	LabelRun = "dev.jitbench.run"
	// LabelCluster names the cluster within the run.
	LabelCluster = "dev.jitbench.cluster"
	// LabelRole says what the object is for: broker, vault, worker, audit, the networks and the volume.
	LabelRole = "dev.jitbench.role"
	// labelContent marks an image with the hash of what it was built from,
	// so an image is rebuilt only when the binary or its Dockerfile changed.
	labelContent = "dev.jitbench.content"
)

// NewRunID returns a fresh random run id, for LabelRun.
func NewRunID() string { return randomID(6) }

// randomID returns n random bytes in hex.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// labels returns the labels of an object of role in cluster id of run.
func labels(run, cluster, role string) map[string]string {
	return map[string]string{LabelRun: run, LabelCluster: cluster, LabelRole: role}
}
