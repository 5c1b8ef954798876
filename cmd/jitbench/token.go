package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/cobra"

	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

func newTokenCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "token",
		Short: "Mint, explain and make keys for the two JIT credentials",
		Long: `Mint, explain and make keys for the two credentials of the JIT model:
an identity token (authorization: Bearer ...) and a JIT grant (x-jit-grant).

Without key files the development keys are used: the same ones 'jitbench serve'
trusts, so a minted token works against it at once.`,
	}
	c.AddCommand(newMintCmd(), newExplainCmd(), newKeygenCmd())
	return c
}

// keyFlags are the key-file flags shared by token commands and serve.
type keyFlags struct {
	identityKeys, grantKeys string
	identityIss, grantIss   string
	audience                string
}

func (k *keyFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&k.identityKeys, "identity-keys", "", "JWKS file of the identity provider's keys (default: development keys)")
	c.Flags().StringVar(&k.grantKeys, "grant-keys", "", "JWKS file of the broker's grant keys (default: development keys)")
	c.Flags().StringVar(&k.identityIss, "identity-issuer", token.DevIdentityIssuer, "iss of identity tokens")
	c.Flags().StringVar(&k.grantIss, "grant-issuer", token.DevGrantIssuer, "iss of grants")
	c.Flags().StringVar(&k.audience, "aud", token.DevAudience, "audience: the protected service's name")
}

// load returns the identity and grant key sets the flags name.
func (k *keyFlags) load() (idKeys, grantKeys *token.KeySet, err error) {
	if idKeys, err = loadKeys("--identity-keys", k.identityKeys, k.identityIss); err != nil {
		return nil, nil, err
	}
	if grantKeys, err = loadKeys("--grant-keys", k.grantKeys, k.grantIss); err != nil {
		return nil, nil, err
	}
	return idKeys, grantKeys, nil
}

func loadKeys(flag, path, devIssuer string) (*token.KeySet, error) {
	if path == "" {
		return token.DevKeySet(devIssuer), nil
	}
	set, err := token.ReadKeyFile(path)
	if err != nil {
		return nil, usagef("%s: %v", flag, err)
	}
	return set, nil
}

func newMintCmd() *cobra.Command {
	var (
		kf                            keyFlags
		kind, sub, alg, kid, resource string
		scope                         []string
		groups                        []string
		ttl                           time.Duration
		oneShot                       bool
	)
	c := &cobra.Command{
		Use:   "mint",
		Short: "Print a signed identity token or JIT grant",
		Example: `  jitbench token mint --sub alice --scope /demo.v1.Vault/Read --ttl 5m
  jitbench token mint --kind identity --sub alice --ttl 1h
  jitbench token mint --sub alice --scope '/demo.v1.Vault/*' --resource 'secrets/*' --alg ES256`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if sub == "" {
				return usagef("--sub is required")
			}
			if ttl <= 0 {
				return usagef("--ttl must be positive, got %s", ttl)
			}
			if err := token.CheckAlgorithm(alg); err != nil && alg != "" {
				return usagef("--alg: %v", err)
			}
			idKeys, grantKeys, err := kf.load()
			if err != nil {
				return err
			}
			var raw string
			switch kind {
			case "identity":
				keys, err := pickKey(idKeys, alg, kid)
				if err != nil {
					return err
				}
				raw, err = token.NewIssuer(kf.identityIss, keys, nil).Identity(token.IdentitySpec{
					Subject: sub, Audience: kf.audience, Groups: groups, TTL: ttl})
				if err != nil {
					return usageErr(err)
				}
			case "grant":
				if len(scope) == 0 {
					return usagef("--scope is required for a grant (a full method such as /demo.v1.Vault/Read, or /demo.v1.Vault/*)")
				}
				keys, err := pickKey(grantKeys, alg, kid)
				if err != nil {
					return err
				}
				raw, _, err = token.NewIssuer(kf.grantIss, keys, nil).Grant(token.GrantSpec{
					Subject: sub, Audience: kf.audience, TTL: ttl, OneShot: oneShot,
					Scope: token.Scope{Methods: scope, Resource: resource}})
				if err != nil {
					return usageErr(err)
				}
			default:
				return usagef("--kind must be identity or grant, got %q", kind)
			}
			fmt.Fprintln(cmd.OutOrStdout(), raw)
			return nil
		},
	}
	kf.register(c)
	c.Flags().StringVar(&kind, "kind", "grant", "token kind: identity or grant")
	c.Flags().StringVar(&sub, "sub", "", "subject: the caller's identity (required)")
	c.Flags().StringSliceVar(&scope, "scope", nil, "grant scope: full method names, a trailing * matches a prefix (repeatable)")
	c.Flags().StringVar(&resource, "resource", "", "grant resource pattern, e.g. 'secrets/*' (default: any)")
	c.Flags().StringSliceVar(&groups, "group", nil, "identity groups (repeatable)")
	c.Flags().DurationVar(&ttl, "ttl", 5*time.Minute, "lifetime")
	c.Flags().StringVar(&alg, "alg", "", "signing algorithm: EdDSA, ES256, RS256 or HS256 (default: the key set's signing key)")
	c.Flags().StringVar(&kid, "kid", "", "sign with this key id")
	c.Flags().BoolVar(&oneShot, "one-shot", false, "make the grant valid for a single call")
	return c
}

// pickKey returns a key set whose signing key is kid, or the first key of alg.
func pickKey(set *token.KeySet, alg, kid string) (*token.KeySet, error) {
	for _, k := range set.Keys() {
		if (kid != "" && k.ID == kid) || (kid == "" && alg != "" && k.Algorithm == alg) {
			if k.Private == nil {
				return nil, usagef("key %q has no private part: it can verify but not sign", k.ID)
			}
			return token.NewKeySet(k), nil
		}
	}
	if kid != "" {
		return nil, usagef("--kid: no key %q in the key set", kid)
	}
	if alg != "" {
		return nil, usagef("--alg: the key set has no %s key", alg)
	}
	return set, nil
}

func newExplainCmd() *cobra.Command {
	var (
		kf         keyFlags
		at         string
		leeway     time.Duration
		maxLife    time.Duration
		algorithms []string
		asJSON     bool
	)
	c := &cobra.Command{
		Use:   "explain TOKEN|-",
		Short: "Decode a token and say whether the reference verifier accepts it, and why not",
		Long: `Decode a token and say, in plain words, whether the reference verifier
accepts it at a given time and, if not, why: the reason, the times involved
and the clock skew it would take to pass. '-' reads the token from stdin.

Exit code 0 when the token is accepted, 1 when it is refused, 2 on bad usage.`,
		Example: `  jitbench token explain "$(jitbench token mint --sub alice --scope /demo.v1.Vault/Read)"
  jitbench token explain --at +10m "$GRANT"
  jitbench token explain --json - < grant.jwt`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw := args[0]
			if raw == "-" {
				b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20))
				if err != nil {
					return usagef("read stdin: %v", err)
				}
				raw = string(b)
			}
			raw = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(raw), "Bearer "))
			if raw == "" {
				if args[0] == "-" {
					return usagef("no token on stdin")
				}
				return usagef("the TOKEN argument is empty (an unset shell variable?)")
			}
			when, err := parseAt(at, time.Now())
			if err != nil {
				return usagef("--at: %v", err)
			}
			for _, a := range algorithms {
				if err := token.CheckAlgorithm(a); err != nil {
					return usagef("--algorithms: %v", err)
				}
			}
			idKeys, grantKeys, err := kf.load()
			if err != nil {
				return err
			}
			e, err := token.Explain(raw, token.ExplainConfig{
				Grant: token.Config{Issuer: kf.grantIss, Audience: kf.audience, Algorithms: algorithms,
					Leeway: leeway, MaxLifetime: maxLife, Clock: clockwork.NewRealClock()},
				GrantKeys: grantKeys.Public(),
				Identity: token.Config{Issuer: kf.identityIss, Audience: kf.audience, Algorithms: algorithms,
					Leeway: leeway},
				IdentityKeys: idKeys.Public(),
				At:           when,
			})
			if err != nil {
				return usageErr(err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(e); err != nil {
					return err
				}
			} else {
				for _, l := range e.Lines {
					fmt.Fprintln(out, l)
				}
			}
			if !e.Accepted {
				return errFailed
			}
			return nil
		},
	}
	kf.register(c)
	c.Flags().StringVar(&at, "at", "now", "judge the token at this time: RFC 3339, 'now', or an offset like +10m or -1h")
	c.Flags().DurationVar(&leeway, "leeway", token.DefaultLeeway, "clock-skew tolerance of the verifier")
	c.Flags().DurationVar(&maxLife, "max-lifetime", stack.DefaultMaxGrantLifetime, "longest grant lifetime accepted (0: no limit)")
	c.Flags().StringSliceVar(&algorithms, "algorithms", token.DefaultAlgorithms(), "algorithms the verifier accepts")
	c.Flags().BoolVar(&asJSON, "json", false, "print the explanation as JSON")
	return c
}

// parseAt reads "now", an RFC 3339 time, or a signed offset from now.
func parseAt(s string, now time.Time) (time.Time, error) {
	switch {
	case s == "" || s == "now":
		return now, nil
	case strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-"):
		d, err := time.ParseDuration(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("bad offset %q: %v", s, err)
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want RFC 3339 (2026-11-22T18:00:00Z), 'now' or an offset like +10m: %q", s)
	}
	return t, nil
}

func newKeygenCmd() *cobra.Command {
	var alg, kid, out string
	c := &cobra.Command{
		Use:   "keygen",
		Short: "Generate a signing key as a JWKS file",
		Long: `Generate a new private signing key and write it as a JSON Web Key Set,
usable with --identity-keys / --grant-keys here and by any JOSE library.`,
		Example: `  jitbench token keygen --alg ES256 --kid broker-2026-11 -o broker.jwks`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := token.CheckAlgorithm(alg); err != nil {
				return usagef("--alg: %v", err)
			}
			if kid == "" {
				kid = strings.ToLower(alg) + "-" + token.NewID()[:8]
			}
			k, err := token.GenerateKey(alg, kid)
			if err != nil {
				return err
			}
			doc, err := token.MarshalKeySet([]*token.Key{k})
			if err != nil {
				return err
			}
			doc = append(doc, '\n')
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(doc)
				return err
			}
			// O_EXCL: an existing file is never overwritten, even one
			// created between a check and the write.
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if errors.Is(err, fs.ErrExist) {
				return usagef("-o: %s exists; not overwriting a key file", out)
			}
			if err != nil {
				return usagef("-o: %v", err)
			}
			_, err = f.Write(doc)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				_ = os.Remove(out) // ours, and incomplete
				return fmt.Errorf("-o: %w", err)
			}
			return nil
		},
	}
	c.Flags().StringVar(&alg, "alg", token.EdDSA, "algorithm: EdDSA, ES256, RS256 or HS256")
	c.Flags().StringVar(&kid, "kid", "", "key id (default: generated)")
	c.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout (never overwrites)")
	return c
}
