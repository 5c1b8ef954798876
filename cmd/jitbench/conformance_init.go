package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/reference/filecap"
)

// initFlags are conformance init's settings.
type initFlags struct {
	o              conformance.InitOptions
	profile, out   string
	force, noCheck bool
}

func newConformanceInitCmd() *cobra.Command {
	var f initFlags
	c := &cobra.Command{
		Use:   "init --address HOST:PORT --sample-token JWT [flags]",
		Short: "Write a target config from the service's reflection and a sample token",
		Long: `Write a commented target config for 'jitbench conformance' from what you
have at hand: the service's address (its server reflection lists the
services and methods; --descriptor-set when it has none) and a sample token
from its test environment (--sample-token; for two tokens --sample-identity
and --sample-grant), with the test keys that sign them.

The samples are decoded without verification: the JOSE header (alg, typ,
kid), the issuer, the audience (text or array), the lifetime, the claim
that holds the scope and its form (scope.methods, a methods list, a
space-delimited scope string, an scp array, permissions, roles), how it
spells methods, and the resource. The grant's claim template reproduces
the sample's shape, every claim it does not understand kept as its literal
value. When the scope holds permissions rather than method names, they are
matched to methods by name (check them: the config lists the methods
nothing matched, to fill in). The protected method is one the sample
grants; the stream method too; gRPC health is the control.

A sample may be pasted as its header carries it ("Bearer eyJ..."): the word
before the token is the header's scheme. @FILE reads a sample from a file.
A key is a file in any form the config takes (JWKS, JWK, PEM, DER, or an
HMAC secret's bytes) or env:NAME for an HMAC secret in the environment;
init checks that it verifies the sample's signature.

What init inferred and what you must still supply (the keys it was not
given, the leeway, the capabilities it cannot see) go to stderr and into
the file's comments. The YAML goes to -o FILE (never overwritten without
--force) or stdout. Then, unless --no-check, init makes the valid call
(OK-001) with the written config and says whether the service answered OK.

Exit codes: 0 written (and the valid call answered OK, or the config does
not load yet because a key is missing); 1 written, and the valid call was
refused; 2 bad flags or samples, a target that cannot be reached or has no
server reflection (without --descriptor-set), an existing -o FILE.`,
		Example: `  jitbench conformance init --address 127.0.0.1:8443 --sample-token "$(cat token.jwt)" \
    --keys test-keys/signer.jwks.json --leeway 1m -o target.yaml
  jitbench conformance init --address 127.0.0.1:9000 --sample-identity @id.jwt --sample-grant @grant.jwt \
    --identity-keys keys/identity.key.pem --grant-keys keys/grant.key.pem \
    --grant-header x-access-grant --leeway 30s -o target.yaml
  jitbench conformance --config target.yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runConformanceInit(cmd, &f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.o.Address, "address", "", "the service's host:port (required)")
	fl.StringVar(&f.o.DescriptorSet, "descriptor-set", "", "a FileDescriptorSet of the service, when it has no server reflection")
	fl.StringVar(&f.profile, "profile", "", "two-token or single-token; default: from the samples given")
	fl.StringVar(&f.o.SampleToken, "sample-token", "", "a token the service accepts (single-token profile); @FILE reads it")
	fl.StringVar(&f.o.SampleIdentity, "sample-identity", "", "an identity token the service accepts (two-token profile); @FILE reads it")
	fl.StringVar(&f.o.SampleGrant, "sample-grant", "", "a grant the service accepts (two-token profile); @FILE reads it")
	fl.StringVar(&f.o.Keys, "keys", "", "the private test key of every issuer: a key file, or env:NAME for an HMAC secret")
	fl.StringVar(&f.o.IdentityKeys, "identity-keys", "", "the identity issuer's private test key (overrides --keys)")
	fl.StringVar(&f.o.GrantKeys, "grant-keys", "", "the grant issuer's private test key (overrides --keys)")
	fl.StringVar(&f.o.IdentityHeader, "identity-header", "", `the identity's header, "name" or "name: Scheme" (default "authorization: Bearer")`)
	fl.StringVar(&f.o.GrantHeader, "grant-header", "", `the grant's header, "name" or "name: Scheme" (default x-jit-grant, no scheme)`)
	fl.StringVar(&f.o.Method, "method", "", "the protected unary method to call (default: one the sample grants)")
	fl.StringVar(&f.o.Payload, "payload", "", "the method's request as protobuf JSON (default: the empty request of its type)")
	fl.DurationVar(&f.o.Leeway, "leeway", 0, "the service's clock-skew tolerance (default: 30s, which SKW-001/SKW-002 test to the second)")
	fl.StringVarP(&f.out, "output", "o", "", "write the config to this file instead of stdout")
	fl.BoolVar(&f.force, "force", false, "overwrite the -o file")
	fl.BoolVar(&f.noCheck, "no-check", false, "do not make the valid call with the written config")
	return c
}

func runConformanceInit(cmd *cobra.Command, f *initFlags) error {
	stderr := cmd.ErrOrStderr()
	if f.profile != "" && f.profile != string(conformance.TwoToken) && f.profile != string(conformance.SingleToken) {
		return usagef("--profile: want %s or %s, got %q", conformance.TwoToken, conformance.SingleToken, f.profile)
	}
	f.o.Profile = conformance.Profile(f.profile)
	if f.o.Leeway < 0 {
		return usagef("--leeway must not be negative")
	}
	for _, s := range []struct {
		flag string
		v    *string
	}{{"--sample-token", &f.o.SampleToken}, {"--sample-identity", &f.o.SampleIdentity}, {"--sample-grant", &f.o.SampleGrant}} {
		if err := readSampleArg(s.flag, s.v); err != nil {
			return err
		}
	}
	if f.out != "" {
		if _, err := os.Stat(f.out); err == nil && !f.force {
			return usagef("-o %s exists: --force overwrites it", f.out)
		}
		f.o.ConfigDir = filepath.Dir(f.out)
	}
	res, err := conformance.Init(cmd.Context(), f.o)
	if err != nil {
		return usagef("conformance init: %v", err)
	}
	path := f.out
	if path == "" {
		if _, err := cmd.OutOrStdout().Write(res.YAML); err != nil {
			return err
		}
		path = "target.yaml" // for the check only: file names in it are relative to the working directory
	} else if err := writeConfig(f.out, res.YAML, f.force); err != nil {
		return usagef("-o: %v", err)
	}
	fmt.Fprintln(stderr, "jitbench: inferred:")
	for _, l := range res.Inferred {
		fmt.Fprintln(stderr, "  - "+l)
	}
	if len(res.Todo) > 0 {
		fmt.Fprintln(stderr, "jitbench: to check or supply:")
		for _, l := range res.Todo {
			fmt.Fprintln(stderr, "  - "+l)
		}
	}
	if f.out != "" {
		fmt.Fprintf(stderr, "jitbench: wrote %s\n", f.out)
	}
	if f.noCheck {
		return nil
	}
	return checkInitConfig(cmd, path, res.YAML)
}

// checkInitConfig makes the valid call with the written config and says how it went.
func checkInitConfig(cmd *cobra.Command, path string, data []byte) error {
	stderr := cmd.ErrOrStderr()
	cfg, err := conformance.ParseConfig(path, data)
	if err != nil {
		fmt.Fprintf(stderr, "jitbench: not checked: the config does not load yet: %v\n", err)
		return nil
	}
	err = conformance.CheckControl(cmd.Context(), cfg)
	switch {
	case err == nil:
		fmt.Fprintf(stderr, "jitbench: checked: the valid call (OK-001) answered OK; next: jitbench conformance --config %s\n", path)
		return nil
	case errors.Is(err, conformance.ErrControlFailed):
		return failed(fmt.Errorf("the config is written, and its valid call was refused: %w", err))
	}
	return usagef("checking the written config: %v", err)
}

// sampleTokenCap bounds a --sample-token @FILE: a token is a few KiB.
var sampleTokenCap = filecap.Limit{Kind: "sample token file", Bytes: 1 << 20}

// readSampleArg replaces @FILE with the file's text.
func readSampleArg(flag string, v *string) error {
	name, ok := strings.CutPrefix(*v, "@")
	if !ok {
		return nil
	}
	// A token file is a key file's size at most: a bigger one is refused, never cut.
	data, err := filecap.ReadFile(name, sampleTokenCap)
	if err != nil {
		return usagef("%s: %v", flag, err)
	}
	*v = strings.TrimSpace(string(data))
	return nil
}

// writeConfig writes the config, refusing to replace a file unless force.
func writeConfig(path string, data []byte, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	fh, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return err
	}
	_, err = fh.Write(data)
	return errors.Join(err, fh.Close())
}
