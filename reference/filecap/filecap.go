// Package filecap reads the files jitbench is given under a size cap per kind
// of file, so a wrong path (/dev/zero, a log, a disk image) is one clear error
// instead of an out-of-memory crash. The caps are documented here, in one
// place, and in the docs' table of limits.
package filecap

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Limit is the size cap of one kind of file.
type Limit struct {
	// Kind names the file for messages, e.g. "policy file".
	Kind string
	// Bytes is the largest size accepted.
	Bytes int64
}

// The caps of the files the CLI and the reference read. Each is far above
// what a real file of its kind holds, and far below what would hurt the
// process: files are decoded whole, often as a YAML node tree several times
// the size of the text.
var (
	// Scenario caps a scenario YAML file.
	Scenario = Limit{"scenario file", 1 << 20}
	// Policy caps a broker policy YAML file (about 10,000 rules).
	Policy = Limit{"policy file", 2 << 20}
	// KeyFile caps a key file: a JWKS, PEM or secret.
	KeyFile = Limit{"key file", 1 << 20}
	// TargetConfig caps a conformance target config.
	TargetConfig = Limit{"target config", 1 << 20}
	// KnownFailing caps a known-failing list.
	KnownFailing = Limit{"known-failing list", 1 << 20}
	// Payload caps a request payload file (load --data-file, payload_file).
	Payload = Limit{"payload file", 4 << 20}
	// FaultsFile caps a `jitbench proxy --faults` file.
	FaultsFile = Limit{"faults file", 1 << 20}
	// Certificate caps a PEM certificate or CA bundle.
	Certificate = Limit{"certificate file", 1 << 20}
	// Result caps a jitbench result JSON file (a day-long run is tens of MiB).
	Result = Limit{"result file", 256 << 20}
)

// TooLargeError says a file is over its cap.
type TooLargeError struct {
	// Name is the path or name the file was read as.
	Name string
	// Limit is the cap it broke.
	Limit Limit
}

// Error reads, e.g., "big.yaml: the policy file is larger than 2 MiB, its size limit".
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s: the %s is larger than %s, its size limit", e.Name, e.Limit.Kind, Size(e.Limit.Bytes))
}

// ReadFile reads the file at path whole, refusing it past l with a
// *TooLargeError. Errors name the path once.
func ReadFile(path string, l Limit) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, pathErr(path, err)
	}
	defer f.Close()
	// A regular file's size is known up front: refuse it before reading.
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > l.Bytes {
		return nil, &TooLargeError{Name: path, Limit: l}
	}
	return Read(f, path, l)
}

// Read reads r whole, refusing it past l with a *TooLargeError naming name.
func Read(r io.Reader, name string, l Limit) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, l.Bytes+1))
	if err != nil {
		return nil, pathErr(name, err)
	}
	if int64(len(data)) > l.Bytes {
		return nil, &TooLargeError{Name: name, Limit: l}
	}
	return data, nil
}

// pathErr names the file once: *os.PathError already carries the path.
func pathErr(name string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", name, pe.Err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// Size renders a byte count in whole KiB, MiB or GiB where it divides evenly.
func Size(n int64) string {
	for _, u := range []struct {
		unit  string
		bytes int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.bytes && n%u.bytes == 0 {
			return fmt.Sprintf("%d %s", n/u.bytes, u.unit)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}
