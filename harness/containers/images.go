package containers

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/jitbench/jitbench/deploy"
)

// Images names the images a Cluster runs, by role.
type Images struct {
	Broker, Vault, Worker string
}

// DefaultImages are the images `make images` and EnsureImages build.
func DefaultImages() Images {
	return Images{Broker: "jitbench-broker:dev", Vault: "jitbench-vault:dev", Worker: "jitbench-worker:dev"}
}

// byRole maps deploy.Roles to the image names.
func (im Images) byRole() map[string]string {
	return map[string]string{"broker": im.Broker, "vault": im.Vault, "worker": im.Worker}
}

// ErrBuild is returned when the binary or an image cannot be built.
var ErrBuild = errors.New("build failed")

// BuildBinary builds the jitbench command of the module in moduleDir into
// out as a static binary (CGO_ENABLED=0, -trimpath), the only file the
// images hold. It runs the go command on PATH; the build cache makes a
// rebuild of an unchanged tree cheap, and the output is then byte for byte
// the same, so EnsureImages reuses the images.
func BuildBinary(ctx context.Context, moduleDir, out string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("%w: no go command to build jitbench with: %v", ErrBuild, err)
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-o", out, "./cmd/jitbench")
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: go build ./cmd/jitbench in %s: %v\n%s", ErrBuild, moduleDir, err, b)
	}
	return nil
}

// EnsureImages builds DefaultImages from binary (a static jitbench built by
// BuildBinary), each with its Dockerfile from package deploy, unless an
// image of that name was built from the same binary and Dockerfile already
// (by an earlier run, or by `make images`, which labels its images the same
// way). It never pulls: the images are FROM scratch. built lists the
// images it had to build.
func EnsureImages(ctx context.Context, binary string) (im Images, built []string, err error) {
	cli, err := dockerClient(ctx)
	if err != nil {
		return Images{}, nil, err
	}
	defer cli.Close()
	bin, err := os.ReadFile(binary)
	if err != nil {
		return Images{}, nil, fmt.Errorf("%w: %v", ErrBuild, err)
	}
	im = DefaultImages()
	names := im.byRole()
	for _, role := range deploy.Roles {
		df, err := deploy.Dockerfile(role)
		if err != nil {
			return Images{}, built, err
		}
		name, hash := names[role], contentHash(bin, df)
		oldID, current, err := imageContent(ctx, cli, name)
		if err != nil {
			return Images{}, built, err
		}
		if current == hash {
			continue
		}
		if err := buildImage(ctx, cli, name, hash, df, bin); err != nil {
			return Images{}, built, err
		}
		built = append(built, name)
		if oldID != "" {
			// The image it replaced is left untagged: 35 MB each build. A
			// container still using it keeps it (the engine refuses).
			_, _ = cli.ImageRemove(ctx, oldID, client.ImageRemoveOptions{PruneChildren: true})
		}
	}
	return im, built, nil
}

// contentHash identifies what an image is built from: the first 16 hex
// digits of sha256(binary || Dockerfile), which is what the Makefile's
// `cat jitbench role.Dockerfile | sha256sum | cut -c1-16` computes.
func contentHash(binary, dockerfile []byte) string {
	h := sha256.New()
	h.Write(binary)
	h.Write(dockerfile)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// imageContent returns the id and content label of image name, or "" for
// both when there is no such image.
func imageContent(ctx context.Context, cli client.APIClient, name string) (id, content string, err error) {
	res, err := cli.ImageInspect(ctx, name)
	switch {
	case errdefs.IsNotFound(err):
		return "", "", nil
	case err != nil:
		return "", "", fmt.Errorf("inspect image %s: %w", name, err)
	case res.Config == nil:
		return res.ID, "", nil
	}
	return res.ID, res.Config.Labels[labelContent], nil
}

// buildImage builds image name from a context holding only the Dockerfile
// and the binary, labelled with its content hash.
func buildImage(ctx context.Context, cli client.APIClient, name, hash string, dockerfile, binary []byte) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeContext(pw, dockerfile, binary)) }()
	res, err := cli.ImageBuild(ctx, pr, client.ImageBuildOptions{
		Tags: []string{name}, Dockerfile: "Dockerfile", Labels: map[string]string{labelContent: hash},
		Remove: true, ForceRemove: true, PullParent: false,
	})
	if err != nil {
		_ = pr.CloseWithError(err)
		return fmt.Errorf("%w: image %s: %v", ErrBuild, name, err)
	}
	defer res.Body.Close()
	if err := readBuildOutput(res.Body); err != nil {
		return fmt.Errorf("%w: image %s: %v", ErrBuild, name, err)
	}
	return nil
}

// writeContext writes the build context: a tar of Dockerfile and jitbench.
func writeContext(w io.Writer, dockerfile, binary []byte) error {
	tw := tar.NewWriter(w)
	for _, f := range []struct {
		name string
		mode int64
		body []byte
	}{{"Dockerfile", 0o644, dockerfile}, {"jitbench", 0o755, binary}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body))}); err != nil {
			return err
		}
		if _, err := tw.Write(f.body); err != nil {
			return err
		}
	}
	return tw.Close()
}

// buildMessage is one line of the engine's build output.
type buildMessage struct {
	Stream string `json:"stream"`
	Error  string `json:"error"`
}

// readBuildOutput reads the build's JSON messages to the end and returns
// the error the engine reported, with the last lines of output before it.
func readBuildOutput(r io.Reader) error {
	dec := json.NewDecoder(r)
	var tail []string
	for {
		var m buildMessage
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the build output: %w", err)
		}
		if m.Error != "" {
			return fmt.Errorf("%s (after: %s)", m.Error, strings.Join(tail, " | "))
		}
		if s := strings.TrimSpace(m.Stream); s != "" {
			tail = append(tail, s)
			if len(tail) > 5 {
				tail = tail[1:]
			}
		}
	}
}
