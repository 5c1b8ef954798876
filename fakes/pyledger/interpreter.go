package pyledger

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// systemPython is tried first: Debian's python3-grpcio and python3-jwt
// install there, while a python3 earlier on PATH (pyenv's, say) may lack them.
const systemPython = "/usr/bin/python3"

// probeTimeout bounds one interpreter's import check; importing grpc is slow
// on a loaded machine, but not this slow.
const probeTimeout = 30 * time.Second

// Interpreter returns a Python 3 that can import grpc, jwt and cryptography:
// /usr/bin/python3 if it can, else python3 on PATH. The error says what
// each candidate lacked. The answer is found once per process.
func Interpreter() (string, error) { return interpreter() }

var interpreter = sync.OnceValues(func() (string, error) {
	candidates := []string{systemPython}
	if p, err := exec.LookPath("python3"); err == nil && p != systemPython {
		candidates = append(candidates, p)
	}
	var errs []error
	for _, c := range candidates {
		if err := probe(c); err != nil {
			errs = append(errs, err)
			continue
		}
		return c, nil
	}
	if len(candidates) == 1 {
		errs = append(errs, errors.New("no python3 on PATH"))
	}
	return "", fmt.Errorf("pyledger: no Python 3 with grpc and jwt (install python3-grpcio, python3-jwt and python3-cryptography): %w", errors.Join(errs...))
})

// probe checks that python runs and imports what ledger.py needs.
func probe(python string) error {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", "import grpc, jwt, cryptography").CombinedOutput()
	if err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return fmt.Errorf("%s: %w: %s", python, err, lines[len(lines)-1])
	}
	return nil
}
