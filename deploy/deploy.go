// Package deploy holds what runs jitbench beyond one process: the
// Dockerfiles of its three images (broker, vault, worker), built FROM
// scratch from one static binary, and the Kubernetes manifests of the
// distributed load job. They are embedded so the container harness builds
// exactly the images `make images` builds, from the binary alone.
package deploy

import (
	"embed"
	"fmt"
)

// files holds the Dockerfiles and the Kubernetes manifests.
//
//go:embed *.Dockerfile k8s/*.yaml
var files embed.FS

// Roles lists the images, by role: each has a <role>.Dockerfile.
var Roles = []string{"broker", "vault", "worker"}

// Dockerfile returns the Dockerfile of role (one of Roles).
func Dockerfile(role string) ([]byte, error) {
	b, err := files.ReadFile(role + ".Dockerfile")
	if err != nil {
		return nil, fmt.Errorf("no Dockerfile for role %q (roles: %v)", role, Roles)
	}
	return b, nil
}

// Manifest returns the Kubernetes manifest k8s/<name>.yaml.
func Manifest(name string) ([]byte, error) {
	return files.ReadFile("k8s/" + name + ".yaml")
}
