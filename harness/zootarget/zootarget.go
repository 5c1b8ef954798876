// Package zootarget starts the zoo's services (package fakes/zoo), each in
// a process of its own, with the target config a user would write for it
// from its documented conventions: the services the tests run jitbench's
// conformance, scenarios and measurements against, as a user runs them
// against a service of their own.
package zootarget

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/fakes/zoo"
	"github.com/jitbench/jitbench/harness/conformance"
)

// Options choose how a service starts.
type Options struct {
	// Bug is the build's one bug; zoo.None (the zero value) is the correct build.
	Bug zoo.Bug
	// SuiteKeys makes a service that can read its grant keys from the key
	// source jitbench serves do so (scp-array; oauth-scope always does); the
	// others keep their key files.
	SuiteKeys bool
	// KeyCache is how long a service that reads keys from jitbench keeps
	// them (oauth-scope's max age, scp-array's refresh interval); zero means 300ms.
	KeyCache time.Duration
	// Now fixes the service's clock; zero keeps the real one.
	Now time.Time
	// ServeKeys serves the key source in this process for as long as the
	// test runs (for the Go API); without it the config's key_source names
	// a fixed address that whoever loads the config serves (the CLI).
	ServeKeys bool
}

// Target is a started service.
type Target struct {
	// Config is its target config, loaded, with its address and hooks.
	Config *conformance.Config
	// Path is the config's file.
	Path string
	// Convention is what the service documents.
	Convention zoo.Convention
}

// defaultKeyCache keeps a key rotation short enough to watch in a test.
const defaultKeyCache = 300 * time.Millisecond

// jwksPath is where the key source serves the keys.
const jwksPath = "/.well-known/jwks.json"

// Start starts kind's build as o says and stops it when the test ends.
func Start(t testing.TB, kind zoo.Kind, o Options) Target {
	t.Helper()
	if o.KeyCache == 0 {
		o.KeyCache = defaultKeyCache
	}
	dir := t.TempDir()
	_, err := zoo.GenerateKeys(kind, dir)
	require.NoError(t, err)
	conv, err := zoo.Describe(kind)
	require.NoError(t, err)
	po := zoo.ProcessOptions{Kind: kind, Bug: o.Bug, KeysDir: dir, Now: o.Now}
	var info zoo.TargetInfo
	if suiteConv, err := conv.WithSuiteKeys(); err == nil && (o.SuiteKeys || kind == zoo.OAuthScope) {
		// The service is told where the keys will be before they are served:
		// it starts with none and fetches them once they are.
		conv, info.SuiteKeys = suiteConv, true
		info.JWKSURL = "http://" + freeAddr(t) + jwksPath
		po.JWKSURL, po.JWKSMaxAge, po.JWKSRefresh = info.JWKSURL, o.KeyCache, o.KeyCache
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a safety net for a child that never starts
	defer cancel()
	p, err := zoo.StartProcess(ctx, po)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Stop() })
	info.Addr, info.AdminURL = p.Addr, p.AdminURL
	path, err := zoo.WriteTargetConfigFor(kind, dir, info)
	require.NoError(t, err)
	cfg, err := conformance.LoadConfig(path)
	require.NoError(t, err)
	if served, ok := cfg.KeySource.(*conformance.ServedKeys); ok && o.ServeKeys {
		require.NoError(t, served.Start())
		t.Cleanup(func() { _ = served.Close() })
		require.Equal(t, info.JWKSURL, served.URL(), "the key source serves where the service looks")
	}
	return Target{Config: cfg, Path: path, Convention: conv}
}

// freeAddr is a loopback address no one listens on just now.
func freeAddr(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())
	return addr
}

// String names the target for messages.
func (t Target) String() string { return fmt.Sprintf("%s at %s", t.Convention.Kind, t.Config.Address) }
