package containers_test

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v4"

	"github.com/jitbench/jitbench/deploy"
	"github.com/jitbench/jitbench/harness/containers"
)

// k8sObject is the part of a Kubernetes object the manifests' test reads.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		CompletionMode string     `yaml:"completionMode"`
		Completions    int        `yaml:"completions"`
		Parallelism    int        `yaml:"parallelism"`
		Ports          []k8sPort  `yaml:"ports"`
		Template       k8sPodSpec `yaml:"template"`
	} `yaml:"spec"`
}

type k8sPort struct {
	Port int `yaml:"port"`
}

type k8sPodSpec struct {
	Spec struct {
		RestartPolicy string `yaml:"restartPolicy"`
		Containers    []struct {
			Image           string   `yaml:"image"`
			ImagePullPolicy string   `yaml:"imagePullPolicy"`
			Command         []string `yaml:"command"`
			Args            []string `yaml:"args"`
			Env             []struct {
				Name      string `yaml:"name"`
				ValueFrom struct {
					FieldRef struct {
						FieldPath string `yaml:"fieldPath"`
					} `yaml:"fieldRef"`
				} `yaml:"valueFrom"`
			} `yaml:"env"`
			VolumeMounts []struct {
				Name      string `yaml:"name"`
				MountPath string `yaml:"mountPath"`
			} `yaml:"volumeMounts"`
		} `yaml:"containers"`
	} `yaml:"spec"`
}

// manifest parses every document of deploy/k8s/NAME.yaml, by kind/name.
func manifest(t *testing.T, name string) map[string]k8sObject {
	t.Helper()
	b, err := deploy.Manifest(name)
	require.NoError(t, err)
	objs := map[string]k8sObject{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return objs
		}
		require.NoError(t, err, "deploy/k8s/%s.yaml", name)
		require.NotEmpty(t, o.APIVersion, "every document has an apiVersion")
		objs[o.Kind+"/"+o.Metadata.Name] = o
	}
}

// TestLoadJobManifest checks that the Kubernetes Indexed Job runs the same
// worker image with the same flags as TestDistributedLoad's containers,
// one result file per index on the shared volume, and that the merge Job
// and the system manifest agree with it.
func TestLoadJobManifest(t *testing.T) {
	im := containers.DefaultImages()
	objs := manifest(t, "load-job")
	job, ok := objs["Job/jitbench-load"]
	require.True(t, ok, "load-job.yaml has Job jitbench-load: %v", objs)
	assert.Equal(t, "batch/v1", job.APIVersion)
	assert.Equal(t, "Indexed", job.Spec.CompletionMode)
	assert.Equal(t, loadWorkers, job.Spec.Parallelism)
	assert.Equal(t, loadWorkers, job.Spec.Completions)
	assert.Equal(t, "Never", job.Spec.Template.Spec.RestartPolicy)
	require.Len(t, job.Spec.Template.Spec.Containers, 1)
	w := job.Spec.Template.Spec.Containers[0]
	assert.Equal(t, im.Worker, w.Image)
	assert.Equal(t, "Never", w.ImagePullPolicy, "the image comes from no registry")
	assert.Empty(t, w.Command, "the image's entrypoint: jitbench load")
	assert.Equal(t, containers.DefaultWorkerLoad().Args("$(JOB_COMPLETION_INDEX)"), w.Args, "the flags of the local distributed-load test")
	require.Len(t, w.Env, 1)
	assert.Equal(t, "JOB_COMPLETION_INDEX", w.Env[0].Name)
	assert.Equal(t, "metadata.annotations['batch.kubernetes.io/job-completion-index']", w.Env[0].ValueFrom.FieldRef.FieldPath)
	require.Len(t, w.VolumeMounts, 1)
	assert.Equal(t, "/results", w.VolumeMounts[0].MountPath)
	_, ok = objs["PersistentVolumeClaim/jitbench-results"]
	assert.True(t, ok, "the shared results volume")

	merge := manifest(t, "merge-job")["Job/jitbench-merge"]
	require.Len(t, merge.Spec.Template.Spec.Containers, 1)
	m := merge.Spec.Template.Spec.Containers[0]
	assert.Equal(t, im.Worker, m.Image)
	assert.Equal(t, []string{"/jitbench", "report", "merge"}, m.Command)
	var files []string
	for k := range loadWorkers {
		files = append(files, "/results/"+containers.ResultFile(k))
	}
	assert.Equal(t, files, m.Args, "one result per index of the load Job")

	sys := manifest(t, "system")
	for _, svc := range []struct {
		alias, image string
		port         int
	}{{containers.BrokerAlias, im.Broker, containers.BrokerPort}, {containers.VaultAlias, im.Vault, containers.VaultPort}} {
		s, ok := sys["Service/"+svc.alias]
		if assert.True(t, ok, "Service %s, the name workers call", svc.alias) {
			assert.Equal(t, []k8sPort{{Port: svc.port}}, s.Spec.Ports)
		}
		d, ok := sys["Deployment/jitbench-"+svc.alias]
		if assert.True(t, ok) && assert.Len(t, d.Spec.Template.Spec.Containers, 1) {
			c := d.Spec.Template.Spec.Containers[0]
			assert.Equal(t, svc.image, c.Image)
			assert.Contains(t, strings.Join(c.Args, " "), "0.0.0.0:"+strconv.Itoa(svc.port))
		}
	}
	vault := sys["Deployment/jitbench-vault"].Spec.Template.Spec.Containers[0]
	assert.Contains(t, strings.Join(vault.Args, " "), "--broker-target "+containers.BrokerTarget())
}
