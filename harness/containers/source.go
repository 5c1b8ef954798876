package containers

import (
	"bufio"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go/log"
)

// ModulePath is the jitbench module's path, as its go.mod declares it.
const ModulePath = "github.com/jitbench/jitbench"

// commandPath is the package path of the jitbench command.
const commandPath = ModulePath + "/cmd/jitbench"

// ErrNoBinary is returned by PrepareImages when it finds no way to get
// the images: no jitbench source to build from, no static jitbench
// running, and no images built earlier.
var ErrNoBinary = errors.New("the container images need a static jitbench binary and none is at hand: " +
	"run `make images` in a jitbench checkout (or run from inside one, with go installed), or run a jitbench built with CGO_ENABLED=0")

// FindModule returns the root of the jitbench module that holds dir: the
// nearest directory at or above it whose go.mod declares ModulePath.
func FindModule(dir string) (string, bool) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	for {
		if declaresModule(filepath.Join(dir, "go.mod")) {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// declaresModule reports whether the go.mod at path declares ModulePath.
func declaresModule(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module"); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`) == ModulePath
		}
	}
	return false
}

// IsStatic reports whether the ELF executable at path is statically
// linked: it names no program interpreter (the dynamic loader), so it runs
// in a FROM scratch image.
func IsStatic(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}

// PrepareImages makes sure DefaultImages exist and hold this jitbench,
// and returns them. The binary comes from, in order: the running
// executable, when it is the jitbench command statically linked; a build
// of the module that holds the working directory (tests, `go run`), with
// the go command; else the images a `make images` left are used as they
// are. With none of these it returns ErrNoBinary, whose message says how
// to get one. It never pulls anything.
func PrepareImages(ctx context.Context) (Images, error) {
	if exe, ok := staticJitbench(); ok {
		im, _, err := EnsureImages(ctx, exe)
		return im, err
	}
	if wd, err := os.Getwd(); err == nil {
		if root, ok := FindModule(wd); ok {
			if _, err := exec.LookPath("go"); err == nil {
				return buildImages(ctx, root)
			}
		}
	}
	if ok, err := imagesExist(ctx); err != nil || ok {
		return DefaultImages(), err
	}
	return Images{}, ErrNoBinary
}

// staticJitbench returns the running executable when it is the jitbench
// command and statically linked (a test binary never is the command).
func staticJitbench() (string, bool) {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Path != commandPath {
		return "", false
	}
	exe, err := os.Executable()
	if err != nil {
		return "", false
	}
	static, err := IsStatic(exe)
	return exe, err == nil && static
}

// buildImages builds the command of the module at root into a temporary
// file, ensures the images from it, and removes the file: the images hold
// their own copy.
func buildImages(ctx context.Context, root string) (Images, error) {
	dir, err := os.MkdirTemp("", "jitbench-images-")
	if err != nil {
		return Images{}, fmt.Errorf("%w: %v", ErrBuild, err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "jitbench")
	if err := BuildBinary(ctx, root, bin); err != nil {
		return Images{}, err
	}
	im, _, err := EnsureImages(ctx, bin)
	return im, err
}

// imagesExist reports whether every one of DefaultImages is present locally.
func imagesExist(ctx context.Context) (bool, error) {
	cli, err := dockerClient(ctx)
	if err != nil {
		return false, err
	}
	defer cli.Close()
	for _, name := range DefaultImages().byRole() {
		id, _, err := imageContent(ctx, cli, name)
		if err != nil || id == "" {
			return false, err
		}
	}
	return true, nil
}

// Ping returns nil when a Docker engine answers, else an error wrapping ErrNoEngine.
func Ping(ctx context.Context) error {
	cli, err := dockerClient(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("%w: %v", ErrNoEngine, err)
	}
	return nil
}

// DisableRyuk turns testcontainers' Ryuk reaper off for this process unless
// TESTCONTAINERS_RYUK_DISABLED says otherwise: its image would be pulled,
// and this package removes what it creates itself. Testcontainers reads
// the variable once, so call it before anything else of theirs.
func DisableRyuk() {
	if _, set := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); !set {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
}

// Quiet sends testcontainers' own log lines (the banner it prints when it
// first connects) nowhere, for a command whose output is its own. It sets a
// global: call it once, before anything of testcontainers runs.
func Quiet() { log.SetDefault(log.NewNoopLogger()) }
