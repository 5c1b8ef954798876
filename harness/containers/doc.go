// Package containers runs the reference JIT system as Docker containers,
// through testcontainers-go, and injects the faults only real processes and
// networks have: pause, kill -9, restart on the same volume, network
// partition.
//
// Images are built locally FROM scratch from one static jitbench binary
// (BuildBinary, EnsureImages; the Dockerfiles are package deploy's):
// nothing is ever pulled, so it works without a registry. PrepareImages
// picks the binary for the running jitbench: itself when it is statically
// linked, else a build of the checkout it runs in, else the images `make
// images` left. A Cluster puts
// the broker and the Vault in separate containers: they share an internal
// network on which they find each other by alias ("broker", "vault"), and
// each also sits on an edge network of its own through which its port is
// published to the host. Cutting the internal network (DisconnectVault) is
// a real partition between the two, while both stay reachable from the
// host. Readiness is the gRPC health check, made from the host.
//
// Everything a Cluster creates (containers, networks, the broker's volume)
// carries the label LabelRun, so Close can remove it all, also after a
// failed start, and Leaks can prove nothing was left behind. Testcontainers'
// Ryuk reaper is not used (it would be pulled from a registry): set
// TESTCONTAINERS_RYUK_DISABLED=true.
//
// Other helpers serve the tests and scenarios built on a cluster: Churn
// drives the broker under load and records what it acknowledged (Ledger)
// and the outage a fault caused (Outage); RunWorkers runs load workers in
// containers and ReadResults reads their results for reports.Merge;
// StartImage runs any one gRPC service image, for checks of services
// shipped as images.
package containers
