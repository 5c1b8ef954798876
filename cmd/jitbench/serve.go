package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/jitbench/jitbench/reference/demo"
	"github.com/jitbench/jitbench/reference/devtls"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

// serveInfo is what serve prints for people and, with --json, for machines.
type serveInfo struct {
	Addr      string   `json:"addr"`
	TLS       bool     `json:"tls"`
	TLSDir    string   `json:"tls_dir,omitempty"`
	Subject   string   `json:"subject"`
	Identity  string   `json:"identity"`
	Grant     string   `json:"grant"`
	Protected []string `json:"protected"`
}

func newServeCmd() *cobra.Command {
	var (
		kf         keyFlags
		addr       string
		useTLS     bool
		tlsDir     string
		subject    string
		tokenTTL   time.Duration
		leeway     time.Duration
		maxLife    time.Duration
		algorithms []string
		asJSON     bool
	)
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the reference JIT-protected demo service on loopback",
		Long: `Run the reference JIT-protected service (demo.v1.Vault: unary Read and
Write, server-streaming List, plus gRPC health and reflection) and print
ready-to-paste grpcurl and ghz command lines with valid tokens.

Every Vault call needs an identity (authorization: Bearer <identity JWT>, or
with --tls a client certificate from the printed development CA) and a JIT
grant (x-jit-grant: <grant JWT>) whose scope covers the method and path.
Denials carry a google.rpc.ErrorInfo reason; 'jitbench token explain' says why
a token is refused. Stops cleanly on Ctrl-C or SIGTERM.`,
		Example: `  jitbench serve
  jitbench serve --addr 127.0.0.1:0 --json
  jitbench serve --tls --tls-dir ./dev-tls`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, a := range algorithms {
				if err := token.CheckAlgorithm(a); err != nil {
					return usagef("--algorithms: %v", err)
				}
			}
			// The service has no "no limit": a zero lifetime would silently
			// become stack.DefaultMaxGrantLifetime and refuse the printed grant.
			if maxLife <= 0 {
				return usagef("--max-lifetime must be positive, got %s", maxLife)
			}
			if tokenTTL <= 0 || tokenTTL > maxLife {
				return usagef("--token-ttl must be positive and at most --max-lifetime (%s)", maxLife)
			}
			idKeys, grantKeys, err := kf.load()
			if err != nil {
				return err
			}
			cfg := stack.Config{
				IdentityIssuer: kf.identityIss, IdentityKeys: idKeys.Public(),
				GrantIssuer: kf.grantIss, GrantKeys: grantKeys.Public(),
				Audience: kf.audience, Algorithms: algorithms, Leeway: leeway, MaxGrantLifetime: maxLife,
				AccessHint: "jitbench token mint --sub <you> --scope <method> (the broker arrives with 'jitbench access')",
			}
			lis, err := net.Listen("tcp", addr)
			if err != nil {
				return usagef("--addr: %v", err)
			}
			defer lis.Close()
			info := serveInfo{Addr: lis.Addr().String(), Subject: subject, Protected: demo.ProtectedMethods()}
			if useTLS {
				host, _, _ := net.SplitHostPort(info.Addr)
				if info.TLSDir, err = writeDevTLS(tlsDir, host, subject, &cfg); err != nil {
					return err
				}
				info.TLS = true
				if tlsDir == "" {
					// A directory we made up is ours to remove; one the user named is theirs.
					defer os.RemoveAll(info.TLSDir)
				}
			}
			svc, err := stack.New(cfg)
			if err != nil {
				return usageErr(err)
			}
			if info.Identity, err = token.NewIssuer(kf.identityIss, idKeys, nil).Identity(token.IdentitySpec{
				Subject: subject, Audience: kf.audience, TTL: tokenTTL}); err != nil {
				return usageErr(err)
			}
			if info.Grant, _, err = token.NewIssuer(kf.grantIss, grantKeys, nil).Grant(token.GrantSpec{
				Subject: subject, Audience: kf.audience, TTL: tokenTTL,
				Scope: token.Scope{Methods: []string{"/demo.v1.Vault/Read", "/demo.v1.Vault/List"}, Resource: "secrets/*"}}); err != nil {
				return usageErr(err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if err := json.NewEncoder(out).Encode(info); err != nil {
					return err
				}
			} else {
				printServeHelp(out, info, cfg.WithDefaults(), tokenTTL)
			}

			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			errc := make(chan error, 1)
			go func() { errc <- svc.Serve(lis) }()
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
			}
			done := make(chan struct{})
			go func() { svc.Stop(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				svc.Server.Stop() // calls still running after 5 s are cut off
			}
			if !asJSON {
				fmt.Fprintln(out, "stopped")
			}
			return nil
		},
	}
	kf.register(c)
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:7443", "listen address (port 0 picks a free port)")
	c.Flags().BoolVar(&useTLS, "tls", false, "serve TLS with a generated development CA; client certificates from it are accepted as identities (mTLS)")
	c.Flags().StringVar(&tlsDir, "tls-dir", "", "with --tls, write ca.crt, server.* and client.* here (default: a new temporary directory)")
	c.Flags().StringVar(&subject, "sub", "alice", "subject of the printed example tokens and client certificate")
	c.Flags().DurationVar(&tokenTTL, "token-ttl", time.Hour, "lifetime of the printed example tokens")
	c.Flags().DurationVar(&leeway, "leeway", token.DefaultLeeway, "clock-skew tolerance of the verifiers")
	c.Flags().DurationVar(&maxLife, "max-lifetime", stack.DefaultMaxGrantLifetime, "longest grant lifetime accepted")
	c.Flags().StringSliceVar(&algorithms, "algorithms", token.DefaultAlgorithms(), "algorithms the verifiers accept")
	c.Flags().BoolVar(&asJSON, "json", false, "print the address and example tokens as one JSON line instead of the help text")
	return c
}

func writeDevTLS(dir, host, subject string, cfg *stack.Config) (string, error) {
	ca, err := devtls.NewCA(24 * time.Hour)
	if err != nil {
		return "", err
	}
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if host != "" && host != "127.0.0.1" && host != "::1" {
		hosts = append(hosts, host)
	}
	srv, err := ca.Server(hosts...)
	if err != nil {
		return "", err
	}
	client, err := ca.Client(subject)
	if err != nil {
		return "", err
	}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "jitbench-tls-"); err != nil {
			return "", err
		}
	}
	if err := ca.WriteFiles(dir, map[string]*devtls.Pair{"server": srv, "client": client}); err != nil {
		return "", usagef("--tls-dir: %v", err)
	}
	cfg.TLS = ca.ServerConfig(srv)
	cfg.PeerIdentity = true
	return filepath.Abs(dir)
}

func printServeHelp(w io.Writer, info serveInfo, cfg stack.Config, ttl time.Duration) {
	mode := "plaintext"
	grpcurlTLS := "-plaintext"
	ghzTLS := "--insecure"
	if info.TLS {
		mode = "TLS, client certificates accepted as identities"
		grpcurlTLS = fmt.Sprintf("-cacert %s", filepath.Join(info.TLSDir, "ca.crt"))
		ghzTLS = fmt.Sprintf("--cacert %s", filepath.Join(info.TLSDir, "ca.crt"))
	}
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("jitbench serve: reference JIT service on %s (%s)", info.Addr, mode)
	p("  trusts identity issuer %q and grant issuer %q for audience %q; algorithms %s; leeway %s",
		cfg.IdentityIssuer, cfg.GrantIssuer, cfg.Audience, strings.Join(orDefault(cfg.Algorithms), ","), orLeeway(cfg.Leeway))
	p("  protected: %s", strings.Join(info.Protected, " "))
	p("  open:      grpc.health.v1.Health, server reflection")
	p("")
	p("Example tokens for %q, valid %s (grant: Read and List on secrets/*):", info.Subject, ttl)
	p("  export ID='%s'", info.Identity)
	p("  export GRANT='%s'", info.Grant)
	p("")
	p("Allowed call:")
	p(`  grpcurl %s -H "authorization: Bearer $ID" -H "x-jit-grant: $GRANT" -d '{"path":"secrets/db/password"}' %s demo.v1.Vault/Read`, grpcurlTLS, info.Addr)
	p("Refused calls (PERMISSION_DENIED, see the ErrorInfo reason):")
	p(`  grpcurl %s -H "authorization: Bearer $ID" -H "x-jit-grant: $GRANT" -d '{"path":"public/motd"}' %s demo.v1.Vault/Read     # GRANT_SCOPE_MISMATCH`, grpcurlTLS, info.Addr)
	p(`  grpcurl %s -H "authorization: Bearer $ID" -H "x-jit-grant: ${GRANT%%??????????}AAAAAAAAAA" -d '{"path":"secrets/db/password"}' %s demo.v1.Vault/Read   # GRANT_BAD_SIGNATURE (tampered)`, grpcurlTLS, info.Addr)
	if info.TLS {
		p("mTLS identity instead of the bearer token:")
		p(`  grpcurl %s -cert %s -key %s -H "x-jit-grant: $GRANT" -d '{"path":"secrets/db/password"}' %s demo.v1.Vault/Read`,
			grpcurlTLS, filepath.Join(info.TLSDir, "client.crt"), filepath.Join(info.TLSDir, "client.key"), info.Addr)
	}
	p("Load:")
	p(`  ghz %s --call demo.v1.Vault.Read -d '{"path":"secrets/db/password"}' -m '{"authorization":"Bearer '"$ID"'","x-jit-grant":"'"$GRANT"'"}' -n 2000 -c 16 %s`, ghzTLS, info.Addr)
	p("Why was a token refused?")
	p(`  jitbench token explain "$GRANT"`)
	p(`  jitbench token mint --sub %s --scope /demo.v1.Vault/Write --resource 'secrets/*'   # a grant for Write`, info.Subject)
	p("")
	p("Serving; Ctrl-C stops.")
}

func orDefault(algs []string) []string {
	if len(algs) == 0 {
		return token.DefaultAlgorithms()
	}
	return algs
}

func orLeeway(d time.Duration) time.Duration {
	if d == 0 {
		return token.DefaultLeeway
	}
	return d
}
