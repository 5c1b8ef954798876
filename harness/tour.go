package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jonboulle/clockwork"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

// TourStep is one call of the guided tour: a situation from the seed
// articles' error catalog and the outcome the reference must give.
type TourStep struct {
	// ID is a stable kebab-case name.
	ID string
	// Situation says in plain words what is wrong (or right) with the call.
	Situation string
	// Code and Reason are what the reference must answer.
	Code   codes.Code
	Reason reason.Reason
	call   func(t *tour) (Call, error)
}

// TourOutcome is a step with what the call actually returned.
type TourOutcome struct {
	TourStep
	Result
	// HandlerRan is true when the Vault's handler executed for the call.
	HandlerRan bool
}

// Pass reports whether the call got the expected code and reason, and a denied call never reached the handler.
func (o TourOutcome) Pass() bool {
	return o.Details.Code == o.TourStep.Code && o.Details.Reason == o.TourStep.Reason &&
		(o.TourStep.Code == codes.OK || !o.HandlerRan)
}

type tour struct {
	idp    *token.Issuer
	broker *token.Issuer
	now    time.Time
}

func (t *tour) identity() (string, error) {
	return t.idp.Identity(token.IdentitySpec{Subject: "alice", Audience: token.DevAudience, TTL: 10 * time.Minute})
}

// grantFrom mints a Read grant on secrets/* with issuer iss.
func grantFrom(iss *token.Issuer, ttl time.Duration) (string, error) {
	raw, _, err := iss.Grant(token.GrantSpec{Subject: "alice", Audience: token.DevAudience, TTL: ttl,
		Scope: token.Scope{Methods: []string{demov1.Vault_Read_FullMethodName}, Resource: "secrets/*"}})
	return raw, err
}

// skewedBroker is the development broker with its clock offset from the service's.
func (t *tour) skewedBroker(offset time.Duration) *token.Issuer {
	return token.NewIssuer(token.DevGrantIssuer, token.DevKeySet(token.DevGrantIssuer), clockwork.NewFakeClockAt(t.now.Add(offset)))
}

// read builds a Read call carrying id and grant as headers; empty ones are left out.
func (t *tour) read(id, grant string) Call {
	md := []string{}
	if id != "" {
		md = append(md, interceptor.IdentityHeader, "Bearer "+id)
	}
	if grant != "" {
		md = append(md, interceptor.GrantHeader, grant)
	}
	return Call{Method: demov1.Vault_Read_FullMethodName, Path: "secrets/db/password", Metadata: md}
}

// both mints a fresh identity and a grant from iss, and returns a Read call carrying them.
func (t *tour) both(iss *token.Issuer, ttl time.Duration) (Call, error) {
	id, err := t.identity()
	if err != nil {
		return Call{}, err
	}
	g, err := grantFrom(iss, ttl)
	if err != nil {
		return Call{}, err
	}
	return t.read(id, g), nil
}

func (t *tour) viaSource(src interceptor.GrantSourceFunc, deadline time.Duration) (Call, error) {
	id, err := t.identity()
	if err != nil {
		return Call{}, err
	}
	creds := interceptor.NewCredentials(interceptor.ClientConfig{
		Identity: interceptor.StaticIdentity(id), Grants: src, Insecure: true})
	return Call{Method: demov1.Vault_Read_FullMethodName, Path: "secrets/db/password",
		Options: []grpc.CallOption{grpc.PerRPCCredentials(creds)}, Deadline: deadline}, nil
}

// TourSteps returns the tour, in the order it runs.
func TourSteps() []TourStep {
	return []TourStep{
		{"allowed", "valid identity and an approved grant for Read on secrets/*", codes.OK, "",
			func(t *tour) (Call, error) { return t.both(t.broker, 5*time.Minute) }},
		{"identity-missing", "no authorization header at all", codes.Unauthenticated, reason.IdentityMissing,
			func(t *tour) (Call, error) { return t.read("", ""), nil }},
		{"grant-missing", "an identity but no JIT grant: access was never requested", codes.PermissionDenied, reason.GrantMissing,
			func(t *tour) (Call, error) {
				id, err := t.identity()
				return t.read(id, ""), err
			}},
		{"window-expired", "a 5-minute grant used 6 minutes after approval", codes.PermissionDenied, reason.GrantExpired,
			func(t *tour) (Call, error) { return t.both(t.skewedBroker(-6*time.Minute), 5*time.Minute) }},
		{"clock-drift", "the broker's clock runs 2 minutes ahead of the service's", codes.PermissionDenied, reason.GrantNotYetValid,
			func(t *tour) (Call, error) { return t.both(t.skewedBroker(2*time.Minute), 5*time.Minute) }},
		{"scope-write", "a Read grant used for Write", codes.PermissionDenied, reason.GrantScopeMismatch,
			func(t *tour) (Call, error) {
				c, err := t.both(t.broker, 5*time.Minute)
				c.Method, c.Path = demov1.Vault_Write_FullMethodName, "secrets/db/password"
				return c, err
			}},
		{"alg-none", `a forged grant with "alg": "none" and no signature`, codes.PermissionDenied, reason.GrantAlgMismatch,
			func(t *tour) (Call, error) {
				id, err := t.identity()
				if err != nil {
					return Call{}, err
				}
				unsigned := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{
					"iss": token.DevGrantIssuer, "sub": "alice", "aud": token.DevAudience, "jti": "forged",
					"iat": t.now.Unix(), "exp": t.now.Add(time.Hour).Unix(),
					"scope": map[string]any{"methods": []string{"/demo.v1.Vault/*"}},
				})
				unsigned.Header["typ"] = token.TypeGrant // a grant in every way but its algorithm
				forged, err := unsigned.SignedString(jwt.UnsafeAllowNoneSignatureType)
				return t.read(id, forged), err
			}},
		{"alg-mismatch", "the broker signs HS256, the service accepts only EdDSA and ES256", codes.PermissionDenied, reason.GrantAlgMismatch,
			func(t *tour) (Call, error) {
				hs, err := token.DevKeySet(token.DevGrantIssuer).Lookup(token.DevKeyID(token.DevGrantIssuer, token.HS256), t.now)
				if err != nil {
					return Call{}, err
				}
				return t.both(token.NewIssuer(token.DevGrantIssuer, token.NewKeySet(hs), nil), 5*time.Minute)
			}},
		{"tampered", "a grant whose scope was edited after signing", codes.PermissionDenied, reason.GrantBadSignature,
			func(t *tour) (Call, error) {
				c, err := t.both(t.broker, 5*time.Minute)
				if err != nil {
					return c, err
				}
				wide, _, err := t.broker.Grant(token.GrantSpec{Subject: "alice", Audience: token.DevAudience, TTL: time.Minute,
					Scope: token.Scope{Methods: []string{"/demo.v1.Vault/*"}}})
				g := strings.Split(c.Metadata[3], ".")
				c.Metadata[3] = g[0] + "." + strings.Split(wide, ".")[1] + "." + g[2]
				return c, err
			}},
		{"stream-unprotected-client", "a streaming List sent without the grant (credentials attached only to unary calls)", codes.PermissionDenied, reason.GrantMissing,
			func(t *tour) (Call, error) {
				id, err := t.identity()
				c := t.read(id, "")
				c.Method, c.Path = demov1.Vault_List_FullMethodName, "secrets/"
				return c, err
			}},
		{"approval-slower-than-deadline", "the approval takes longer than the call's 50 ms deadline", codes.DeadlineExceeded, reason.ApprovalPending,
			func(t *tour) (Call, error) {
				return t.viaSource(func(ctx context.Context, _ string) (interceptor.Credential, error) {
					<-ctx.Done() // the reviewer never answers in time
					return interceptor.Credential{}, ctx.Err()
				}, 50*time.Millisecond)
			}},
		{"broker-down", "the broker cannot be reached when a grant is needed", codes.Unavailable, reason.BrokerUnavailable,
			func(t *tour) (Call, error) {
				return t.viaSource(func(context.Context, string) (interceptor.Credential, error) {
					return interceptor.Credential{}, errors.New("dial tcp 127.0.0.1:7444: connect: connection refused")
				}, 0)
			}},
	}
}

// RunTour starts the reference in-process and runs every tour step against it.
func RunTour(ctx context.Context) ([]TourOutcome, error) {
	p, err := StartInProcess(stack.Config{})
	if err != nil {
		return nil, err
	}
	defer p.Close()
	t := &tour{
		now:    time.Now(),
		idp:    token.NewIssuer(token.DevIdentityIssuer, token.DevKeySet(token.DevIdentityIssuer), nil),
		broker: token.NewIssuer(token.DevGrantIssuer, token.DevKeySet(token.DevGrantIssuer), nil),
	}
	var out []TourOutcome
	for _, s := range TourSteps() {
		c, err := s.call(t)
		if err != nil {
			return nil, fmt.Errorf("tour step %s: %w", s.ID, err)
		}
		before := p.Service.Vault.TotalHandlerCalls()
		res := Do(ctx, p.Conn, c)
		out = append(out, TourOutcome{TourStep: s, Result: res, HandlerRan: p.Service.Vault.TotalHandlerCalls() != before})
	}
	return out, nil
}

// WriteTour prints the outcomes as a table followed by a plain-words account of each refusal.
func WriteTour(w io.Writer, outcomes []TourOutcome) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tCODE\tREASON\tLATENCY\tCHECK")
	pass := 0
	for _, o := range outcomes {
		check := "ok"
		if o.Pass() {
			pass++
		} else {
			check = fmt.Sprintf("FAIL (want %s %s)", reason.CodeName(o.TourStep.Code), o.TourStep.Reason)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", o.ID, reason.CodeName(o.Details.Code), dash(string(o.Details.Reason)),
			o.Latency.Round(10*time.Microsecond), check)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	for _, o := range outcomes {
		fmt.Fprintf(w, "%s: %s\n", o.ID, o.Situation)
		if o.Details.Code == codes.OK {
			fmt.Fprintln(w, "  allowed: the handler ran.")
			continue
		}
		fmt.Fprintf(w, "  %s %s: %s\n", reason.CodeName(o.Details.Code), o.Details.Reason, o.Details.Message)
		if md := reason.FormatMetadata(o.Details.Metadata); md != "" {
			fmt.Fprintf(w, "  details: %s\n", md)
		}
		if info, ok := reason.Lookup(o.Details.Reason); ok {
			fmt.Fprintf(w, "  fix: %s\n", info.Fix)
		}
	}
	fmt.Fprintf(w, "\n%d of %d steps gave the expected code and reason.\n", pass, len(outcomes))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
