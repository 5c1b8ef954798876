// Command gendocs writes docs/conformance.md from the conformance package's
// catalog, rules, capabilities and config schema: go generate ./harness/conformance.
package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/jitbench/jitbench/harness/conformance"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendocs FILE")
		os.Exit(2)
	}
	var b bytes.Buffer
	if err := conformance.WriteDocs(&b); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(os.Args[1], b.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}
