// Command zoo-target runs one zoo service (fakes/zoo) in a process of its
// own, for conformance runs "each as a separate process over loopback":
//
//	zoo-target --kind scp-array --bug none --keys-dir ./keys --generate-keys
//
// It prints one JSON line once serving, {"addr":"127.0.0.1:port",...}, with
// "admin_url" for a member with a revocation endpoint (bearer-grant,
// scp-array; --revocation-delay sets how long a revocation takes to reach
// the verifier), and stops on SIGINT or SIGTERM. Given --jwks-url,
// scp-array reads its grant keys from that JWKS (refreshed every
// --jwks-refresh) instead of its PEM directory; with --target-config the
// config's key_source then serves them at that URL.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/jitbench/jitbench/fakes/zoo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := zoo.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
