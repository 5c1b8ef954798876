// Package containers runs the reference system in Docker containers built
// locally FROM scratch, through testcontainers-go, and injects the faults
// only real processes and networks have: pause, kill -9, restart on the
// same volume, network disconnect.
package containers

import _ "github.com/testcontainers/testcontainers-go" // pinned until the package's code lands
