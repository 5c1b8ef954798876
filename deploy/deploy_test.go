package deploy_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/deploy"
)

// TestDockerfiles checks what makes the images buildable without a
// registry: FROM scratch and nothing else to pull, no parser directive
// (no # syntax= line, which would fetch a frontend), the one binary.
func TestDockerfiles(t *testing.T) {
	entry := map[string]string{
		"broker": `ENTRYPOINT ["/jitbench", "serve", "--role", "broker"]`,
		"vault":  `ENTRYPOINT ["/jitbench", "serve", "--role", "vault"]`,
		"worker": `ENTRYPOINT ["/jitbench", "load"]`,
	}
	require.Len(t, deploy.Roles, len(entry))
	for _, role := range deploy.Roles {
		t.Run(role, func(t *testing.T) {
			b, err := deploy.Dockerfile(role)
			require.NoError(t, err)
			var froms, copies []string
			for i, line := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(line, "#") && strings.Contains(line, "=") && i == 0 {
					t.Errorf("line 1 looks like a parser directive: %q", line)
				}
				switch {
				case strings.HasPrefix(line, "FROM "):
					froms = append(froms, line)
				case strings.HasPrefix(line, "COPY ") || strings.HasPrefix(line, "ADD "):
					copies = append(copies, line)
				}
			}
			assert.Equal(t, []string{"FROM scratch"}, froms, "one stage, no base image")
			assert.Equal(t, []string{"COPY jitbench /jitbench"}, copies, "the static binary only")
			assert.Contains(t, string(b), entry[role]+"\n")
			assert.NotContains(t, strings.ToLower(string(b)), "syntax=")
		})
	}
	_, err := deploy.Dockerfile("proxy")
	assert.ErrorContains(t, err, `no Dockerfile for role "proxy"`)
}

func TestManifests(t *testing.T) {
	for _, name := range []string{"system", "load-job", "merge-job"} {
		b, err := deploy.Manifest(name)
		require.NoError(t, err, name)
		assert.Contains(t, string(b), "apiVersion:", name)
	}
	_, err := deploy.Manifest("nope")
	assert.Error(t, err)
}
