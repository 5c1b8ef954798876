package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

// identityTTL is the lifetime of the identity tokens the access commands
// sign: the broker checks it when a call (or a Watch stream) starts.
const identityTTL = 15 * time.Minute

// accessFlags are the flags every access command shares: where the broker
// is, who is asking, and how the answer is printed.
type accessFlags struct {
	broker       string
	as           string
	groups       []string
	identityKeys string
	identityIss  string
	identity     string
	timeout      time.Duration
	asJSON       bool
}

func newAccessCmd() *cobra.Command {
	var af accessFlags
	c := &cobra.Command{
		Use:   "access",
		Short: "Request, review, follow and revoke JIT access on a running broker",
		Long: `Talk to a running JIT broker (jit.v1.Broker, e.g. the one 'jitbench serve'
starts on 127.0.0.1:7444) as a requester or a reviewer.

Each command signs an identity token for --as (with --group groups) using the
development identity keys, or --identity-keys, with audience jit.v1.Broker;
--identity sends a token you already have instead. The broker takes who you
are from that token only, so a reviewer must be in one of the policy's
approver groups (the default policy's is security), and nobody can approve
their own request.

Exit codes: 0 done; 1 the broker refused (the status code, reason and
message are printed), the request ended denied, expired or withdrawn, or the
broker could not be reached; 2 bad usage.`,
		Example: `  REQ=$(jitbench access request --as alice --scope Read --resource 'secrets/*' --justification 'rotate the db password' --id-only)
  jitbench access list --as carol --group security --state pending
  jitbench access approve --as carol --group security "$REQ" --comment 'on call'
  GRANT=$(jitbench access show --as alice "$REQ" --grant-only)
  jitbench access revoke --as carol --group security "$REQ"
  GRANT=$(jitbench access request --as alice --scope Read --wait 30s --grant-only)   # waits for a reviewer`,
	}
	pf := c.PersistentFlags()
	pf.StringVar(&af.broker, "broker", defaultBrokerAddr, "the broker's address, host:port")
	pf.StringVar(&af.as, "as", "alice", "subject of the identity the command signs: who is asking")
	pf.StringSliceVar(&af.groups, "group", nil, "a group of that identity (repeatable), e.g. security for a reviewer")
	pf.StringVar(&af.identityKeys, "identity-keys", "", "JWKS file with the identity provider's private key (default: development keys)")
	pf.StringVar(&af.identityIss, "identity-issuer", token.DevIdentityIssuer, "iss of the signed identity")
	pf.StringVar(&af.identity, "identity", "", "send this identity token (audience jit.v1.Broker) instead of signing one; excludes --as, --group and --identity-keys")
	pf.DurationVar(&af.timeout, "timeout", 10*time.Second, "deadline of each call to the broker")
	pf.BoolVar(&af.asJSON, "json", false, "print the broker's answer as JSON (protojson; one line per message)")
	c.AddCommand(
		newAccessRequestCmd(&af), newAccessListCmd(&af), newAccessShowCmd(&af), newAccessWatchCmd(&af),
		newAccessReviewCmd(&af, jitv1.Decision_DECISION_APPROVE), newAccessReviewCmd(&af, jitv1.Decision_DECISION_DENY),
		newAccessWithdrawCmd(&af), newAccessRevokeCmd(&af),
	)
	return c
}

// brokerConn is a connection to the broker carrying the caller's identity.
type brokerConn struct {
	addr    string
	timeout time.Duration
	conn    *grpc.ClientConn
	client  jitv1.BrokerClient
}

// connect checks the shared flags and returns a client of the broker that
// sends the identity they describe.
func (af *accessFlags) connect(cmd *cobra.Command) (*brokerConn, error) {
	if _, port, err := net.SplitHostPort(af.broker); err != nil || port == "" {
		return nil, usagef("--broker: want host:port, got %q", af.broker)
	}
	if af.timeout <= 0 {
		return nil, usagef("--timeout must be positive, got %s", af.timeout)
	}
	tok, err := af.identityToken(cmd)
	if err != nil {
		return nil, err
	}
	creds := interceptor.NewCredentials(interceptor.ClientConfig{
		Identity: interceptor.StaticIdentity(tok), Policy: broker.ServerPolicy, Insecure: true})
	conn, err := grpc.NewClient(af.broker, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(creds))
	if err != nil {
		return nil, usagef("--broker: %v", err)
	}
	return &brokerConn{addr: af.broker, timeout: af.timeout, conn: conn, client: jitv1.NewBrokerClient(conn)}, nil
}

// identityToken returns --identity, or signs an identity for --as and --group.
func (af *accessFlags) identityToken(cmd *cobra.Command) (string, error) {
	if af.identity != "" {
		for _, f := range []string{"as", "group", "identity-keys", "identity-issuer"} {
			if cmd.Flags().Changed(f) {
				return "", usagef("--identity sends a token as it is: drop --%s", f)
			}
		}
		return strings.TrimPrefix(strings.TrimSpace(af.identity), "Bearer "), nil
	}
	if cmd.Flags().Changed("identity") {
		return "", usagef("--identity is empty (an unset shell variable?)")
	}
	if af.as == "" {
		return "", usagef("--as is required: the subject who is asking")
	}
	keys, err := loadKeys("--identity-keys", af.identityKeys, af.identityIss)
	if err != nil {
		return "", err
	}
	tok, err := token.NewIssuer(af.identityIss, keys, nil).Identity(token.IdentitySpec{
		Subject: af.as, Audience: stack.BrokerAudience, Groups: af.groups, TTL: identityTTL})
	if err != nil {
		return "", usagef("--identity-keys: cannot sign an identity: %v", err)
	}
	return tok, nil
}

func (b *brokerConn) Close() { _ = b.conn.Close() }

// unary runs one call under --timeout.
func unary[T any](cmd *cobra.Command, b *brokerConn, call func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(cmd.Context(), b.timeout)
	defer cancel()
	out, err := call(ctx)
	if err != nil {
		return out, b.refused(err)
	}
	return out, nil
}

// refused turns a failed broker call into one line and exit code 1: the
// status code, the reason and the message, or which address did not answer.
func (b *brokerConn) refused(err error) error {
	d := reason.FromError(err)
	switch {
	case d.Code == codes.Unavailable && d.Reason == "":
		return failed(fmt.Errorf("broker at %s is unavailable (is 'jitbench serve' running?): %s", b.addr, oneLine(d.Message)))
	case d.Code == codes.DeadlineExceeded && d.Reason == "":
		return failed(fmt.Errorf("broker at %s did not answer within --timeout %s: %s", b.addr, b.timeout, oneLine(d.Message)))
	}
	msg := reason.CodeName(d.Code)
	if d.Reason != "" {
		msg += " " + string(d.Reason)
	}
	msg += ": " + oneLine(d.Message)
	if len(d.Metadata) > 0 {
		msg += " (" + reason.FormatMetadata(d.Metadata) + ")"
	}
	return failed(errors.New(msg))
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// checkID refuses an empty request id argument.
func checkID(id string) error {
	if strings.TrimSpace(id) == "" {
		return usagef("the ID argument is empty (an unset shell variable?)")
	}
	return nil
}

// printMessage prints m as one protojson line.
func printMessage(w io.Writer, m proto.Message) error {
	b, err := protojson.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// show prints a request as JSON or for people.
func (af *accessFlags) show(w io.Writer, ar *jitv1.AccessRequest) error {
	if af.asJSON {
		return printMessage(w, ar)
	}
	describe(w, ar, time.Now())
	return nil
}

func newAccessRequestCmd(af *accessFlags) *cobra.Command {
	var (
		scopes                           []string
		resource, service, justification string
		duration, wait                   time.Duration
		oneShot, grantOnly, idOnly       bool
	)
	c := &cobra.Command{
		Use:   "request",
		Short: "Ask the broker for access to methods of a service; optionally wait for the decision",
		Long: `Open an access request as --as for the methods --scope names (a bare name such
as Read means /SERVICE/Read; a trailing * matches a prefix) on --resource, and
print its id and state. The policy decides who may approve it and how long
the grant may last; an auto-approve rule may approve it at once.

With --wait the command follows the request (Watch) until it is decided or
the wait ends, and prints the grant when it is approved; --grant-only prints
just the grant (for GRANT=$(...)), --id-only just the request id.

Exit code 1 when the broker refuses the request (NO_POLICY, say), when it
ends denied, expired or withdrawn, and when --wait ends with it still
pending (APPROVAL_PENDING).`,
		Example: `  jitbench access request --as alice --scope Read --resource 'secrets/*' --justification 'rotate the db password'
  REQ=$(jitbench access request --as alice --scope Read --scope List --resource 'secrets/*' --id-only)
  GRANT=$(jitbench access request --as alice --scope Read --resource 'secrets/*' --duration 15m --wait 2m --grant-only)
  jitbench access request --as alice --scope /demo.v1.Vault/Write --one-shot --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case len(scopes) == 0:
				return usagef("--scope is required: a method such as Read or /demo.v1.Vault/Read (repeatable)")
			case strings.TrimSpace(service) == "":
				return usagef("--service must not be empty")
			case duration < 0:
				return usagef("--duration must not be negative, got %s", duration)
			case wait < 0:
				return usagef("--wait must not be negative, got %s", wait)
			case grantOnly && idOnly:
				return usagef("--grant-only and --id-only exclude each other")
			case (grantOnly || idOnly) && af.asJSON:
				return usagef("--json prints the whole request: drop --grant-only and --id-only")
			}
			methods := make([]string, len(scopes))
			for i, s := range scopes {
				if methods[i] = fullMethod(service, s); methods[i] == "" {
					return usagef("--scope: empty method name")
				}
			}
			b, err := af.connect(cmd)
			if err != nil {
				return err
			}
			defer b.Close()
			in := &jitv1.RequestAccessRequest{
				Scope:         &jitv1.Scope{Service: service, Methods: methods, Resource: resource},
				Justification: justification, OneShot: oneShot,
			}
			if duration > 0 {
				in.Duration = durationpb.New(duration)
			}
			ar, err := unary(cmd, b, func(ctx context.Context) (*jitv1.AccessRequest, error) {
				return b.client.RequestAccess(ctx, in)
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if idOnly {
				fmt.Fprintln(out, ar.GetId())
			}
			if wait > 0 && ar.GetState() == jitv1.State_STATE_PENDING {
				if !idOnly && !grantOnly && !af.asJSON {
					fmt.Fprintf(out, "request %s PENDING: %s; waiting up to %s for a decision\n", ar.GetId(), ar.GetStateReason(), wait)
				}
				got, err := waitDecision(cmd.Context(), b, ar.GetId(), wait)
				if err != nil {
					return err
				}
				if got != nil {
					ar = got
				}
			}
			switch {
			case grantOnly:
				if ar.GetState() == jitv1.State_STATE_APPROVED && ar.GetGrant() != "" {
					fmt.Fprintln(out, ar.GetGrant())
				}
			case !idOnly:
				if err := af.show(out, ar); err != nil {
					return err
				}
			}
			return outcome(ar, wait, grantOnly)
		},
	}
	c.Flags().StringSliceVar(&scopes, "scope", nil, "a method to request: Read, or a full name /demo.v1.Vault/Read; a trailing * matches a prefix (repeatable, required)")
	c.Flags().StringVar(&resource, "resource", "", "the resource pattern, e.g. 'secrets/*' (default: any resource, which only a rule for any resource grants)")
	c.Flags().StringVar(&service, "service", token.DevAudience, "the protected service: the grant's audience")
	c.Flags().DurationVar(&duration, "duration", 0, "how long the grant should last (default: the policy's maximum)")
	c.Flags().StringVar(&justification, "justification", "", "why, for the reviewers and the audit log")
	c.Flags().BoolVar(&oneShot, "one-shot", false, "ask for a grant valid for a single call")
	c.Flags().DurationVar(&wait, "wait", 0, "follow the request until it is decided or this long has passed")
	c.Flags().BoolVar(&grantOnly, "grant-only", false, "print only the grant JWT (exit 1 if there is none)")
	c.Flags().BoolVar(&idOnly, "id-only", false, "print only the request id")
	return c
}

// fullMethod spells a --scope value as a full method name of service.
func fullMethod(service, m string) string {
	m = strings.TrimSpace(m)
	if m == "" || strings.HasPrefix(m, "/") {
		return m
	}
	return "/" + service + "/" + m
}

// waitDecision follows request id until it leaves PENDING or wait passes,
// and returns the last revision seen (nil if none arrived).
func waitDecision(parent context.Context, b *brokerConn, id string, wait time.Duration) (*jitv1.AccessRequest, error) {
	ctx, cancel := context.WithTimeout(parent, wait)
	defer cancel()
	stream, err := b.client.Watch(ctx, &jitv1.WatchRequest{Id: id})
	if err != nil {
		return nil, b.refused(err)
	}
	var last *jitv1.AccessRequest
	for {
		r, err := stream.Recv()
		switch {
		case err == io.EOF:
			return last, nil
		case err != nil && parent.Err() == nil && (ctx.Err() != nil || status.Code(err) == codes.DeadlineExceeded):
			// The wait is over (the broker may say so before our own
			// timer does); the caller reports the state.
			return last, nil
		case err != nil:
			return nil, b.refused(err)
		}
		last = r
		if r.GetState() != jitv1.State_STATE_PENDING {
			return last, nil
		}
	}
}

// outcome is the exit status of a request command: nil when the request is
// where the user wanted it, else the one line that says where it is.
func outcome(ar *jitv1.AccessRequest, wait time.Duration, grantOnly bool) error {
	id, by, why := ar.GetId(), ar.GetActor(), ar.GetStateReason()
	switch ar.GetState() {
	case jitv1.State_STATE_APPROVED:
		if grantOnly && ar.GetGrant() == "" {
			return failed(fmt.Errorf("request %s is APPROVED, but its grant goes only to its requester %s", id, ar.GetRequester()))
		}
		return nil
	case jitv1.State_STATE_PENDING:
		switch {
		case wait > 0:
			return failed(fmt.Errorf("%s %s: request %s is still PENDING after --wait %s (%s); follow it with 'jitbench access watch %s'",
				reason.CodeName(reason.ApprovalPending.Code()), reason.ApprovalPending, id, wait, why, id))
		case grantOnly:
			return failed(fmt.Errorf("request %s is PENDING: no grant yet (add --wait 1m to wait for the decision)", id))
		}
		return nil
	case jitv1.State_STATE_DENIED:
		return failed(fmt.Errorf("%s %s: request %s was denied by %s: %s",
			reason.CodeName(reason.ApprovalDenied.Code()), reason.ApprovalDenied, id, by, orDash(why)))
	case jitv1.State_STATE_EXPIRED:
		return failed(fmt.Errorf("request %s EXPIRED: nobody decided before its pending timeout", id))
	case jitv1.State_STATE_WITHDRAWN:
		return failed(fmt.Errorf("request %s was WITHDRAWN by %s: %s", id, by, orDash(why)))
	}
	// ENDED or REVOKED already: approved, but the grant is no longer valid.
	return failed(fmt.Errorf("request %s is %s (by %s: %s): its grant is no longer valid", id, stateName(ar.GetState()), by, orDash(why)))
}

func newAccessShowCmd(af *accessFlags) *cobra.Command {
	var grantOnly bool
	c := &cobra.Command{
		Use:   "show ID",
		Short: "Print one access request, or just its grant",
		Long: `Print one access request: its scope, state, reviews and grant. The grant
itself (the JWT) is sent only to the requester; reviewers see its id and
expiry. --grant-only prints just the JWT, and exits 1 unless the request is
APPROVED and the caller is its requester.`,
		Example: `  jitbench access show --as carol --group security "$REQ"
  GRANT=$(jitbench access show --as alice "$REQ" --grant-only)`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkID(args[0]); err != nil {
				return err
			}
			if grantOnly && af.asJSON {
				return usagef("--json prints the whole request: drop --grant-only")
			}
			b, err := af.connect(cmd)
			if err != nil {
				return err
			}
			defer b.Close()
			ar, err := unary(cmd, b, func(ctx context.Context) (*jitv1.AccessRequest, error) {
				return b.client.GetRequest(ctx, &jitv1.GetRequestRequest{Id: args[0]})
			})
			if err != nil {
				return err
			}
			if !grantOnly {
				return af.show(cmd.OutOrStdout(), ar)
			}
			if ar.GetState() != jitv1.State_STATE_APPROVED {
				return failed(fmt.Errorf("request %s is %s: no grant to print", ar.GetId(), stateName(ar.GetState())))
			}
			if err := outcome(ar, 0, true); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), ar.GetGrant())
			return nil
		},
	}
	c.Flags().BoolVar(&grantOnly, "grant-only", false, "print only the grant JWT")
	return c
}

func newAccessListCmd(af *accessFlags) *cobra.Command {
	var (
		state, requester string
		limit            int
	)
	c := &cobra.Command{
		Use:   "list",
		Short: "List the access requests you may see, newest first",
		Long: `List the access requests the caller may see (their own, and those they may
review), newest first, as a table: id, requester, state, scope, age and
reviews (approvals so far / needed, then the reviewers).`,
		Example: `  jitbench access list --as carol --group security --state pending
  jitbench access list --as alice --state approved --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := parseState(state)
			if err != nil {
				return err
			}
			if limit < 0 {
				return usagef("--limit must not be negative, got %d", limit)
			}
			b, err := af.connect(cmd)
			if err != nil {
				return err
			}
			defer b.Close()
			all := &jitv1.ListRequestsResponse{}
			in := &jitv1.ListRequestsRequest{State: st, Requester: requester}
			for {
				in.PageSize = int32(broker.DefaultPageSize)
				if limit > 0 {
					in.PageSize = int32(min(limit-len(all.Requests), broker.MaxPageSize))
				}
				page, err := unary(cmd, b, func(ctx context.Context) (*jitv1.ListRequestsResponse, error) {
					return b.client.ListRequests(ctx, in)
				})
				if err != nil {
					return err
				}
				all.Requests = append(all.Requests, page.GetRequests()...)
				all.NextPageToken = page.GetNextPageToken()
				if all.NextPageToken == "" || (limit > 0 && len(all.Requests) >= limit) {
					break
				}
				in.PageToken = all.NextPageToken
			}
			out := cmd.OutOrStdout()
			if af.asJSON {
				return printMessage(out, all)
			}
			printTable(out, all.GetRequests(), time.Now())
			if all.NextPageToken != "" {
				fmt.Fprintf(out, "(the first %d; --limit 0 lists all)\n", len(all.GetRequests()))
			}
			return nil
		},
	}
	c.Flags().StringVar(&state, "state", "", "only requests in this state: pending, approved, denied, expired, withdrawn, ended or revoked")
	c.Flags().StringVar(&requester, "requester", "", "only requests of this subject")
	c.Flags().IntVar(&limit, "limit", 100, "list at most this many (0: all)")
	return c
}

// parseState reads a state name such as pending (or STATE_PENDING); empty means any.
func parseState(s string) (jitv1.State, error) {
	if s == "" {
		return jitv1.State_STATE_UNSPECIFIED, nil
	}
	v, ok := jitv1.State_value["STATE_"+strings.TrimPrefix(strings.ToUpper(s), "STATE_")]
	if !ok || v == int32(jitv1.State_STATE_UNSPECIFIED) {
		return 0, usagef("--state: %q is not a state (want pending, approved, denied, expired, withdrawn, ended or revoked)", s)
	}
	return jitv1.State(v), nil
}

func newAccessWatchCmd(af *accessFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "watch ID",
		Short: "Print each change of an access request as it happens, until it is over",
		Long: `Follow one access request (Watch): print its current state, then every
change as it arrives, one line each, until it reaches a state nothing leaves
(denied, expired, withdrawn, ended or revoked). An approved request is still
followed: its grant ends or is revoked later. Ctrl-C stops earlier.
--timeout does not apply to the stream.`,
		Example: `  jitbench access watch --as alice "$REQ"
  jitbench access watch --as carol --group security --json "$REQ"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkID(args[0]); err != nil {
				return err
			}
			b, err := af.connect(cmd)
			if err != nil {
				return err
			}
			defer b.Close()
			stream, err := b.client.Watch(cmd.Context(), &jitv1.WatchRequest{Id: args[0]})
			if err != nil {
				return b.refused(err)
			}
			out := cmd.OutOrStdout()
			for {
				r, err := stream.Recv()
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return b.refused(err)
				}
				if af.asJSON {
					if err := printMessage(out, r); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintln(out, revisionLine(r))
			}
		},
	}
}

func newAccessReviewCmd(af *accessFlags, decision jitv1.Decision) *cobra.Command {
	var comment string
	verb, short, example := "approve", "Approve a pending access request (as one of its approvers)",
		`  jitbench access approve --as carol --group security "$REQ" --comment 'on call'`
	if decision == jitv1.Decision_DECISION_DENY {
		verb, short, example = "deny", "Deny a pending access request (as one of its approvers)",
			`  jitbench access deny --as carol --group security "$REQ" --comment 'use the staging vault'`
	}
	c := &cobra.Command{
		Use:   verb + " ID",
		Short: short,
		Long: short + `. The caller must be in an approver
group of the request's policy rule (NOT_APPROVER otherwise) and cannot be its
requester (SELF_APPROVAL). A denial decides at once; approvals count until
the rule's number is reached, and then the grant is signed.`,
		Example: example,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return af.act(cmd, args[0], func(ctx context.Context, c jitv1.BrokerClient, id string) (*jitv1.AccessRequest, error) {
				return c.Review(ctx, &jitv1.ReviewRequest{Id: id, Decision: decision, Comment: comment})
			})
		},
	}
	c.Flags().StringVar(&comment, "comment", "", "why, for the requester and the audit log")
	return c
}

// act runs one state-changing call on request id and shows the result: the
// shape approve, deny, withdraw and revoke share.
func (af *accessFlags) act(cmd *cobra.Command, id string, call func(context.Context, jitv1.BrokerClient, string) (*jitv1.AccessRequest, error)) error {
	if err := checkID(id); err != nil {
		return err
	}
	b, err := af.connect(cmd)
	if err != nil {
		return err
	}
	defer b.Close()
	ar, err := unary(cmd, b, func(ctx context.Context) (*jitv1.AccessRequest, error) { return call(ctx, b.client, id) })
	if err != nil {
		return err
	}
	return af.show(cmd.OutOrStdout(), ar)
}

func newAccessWithdrawCmd(af *accessFlags) *cobra.Command {
	var comment string
	c := &cobra.Command{
		Use:     "withdraw ID",
		Short:   "Withdraw your own pending access request",
		Example: `  jitbench access withdraw --as alice "$REQ" --comment 'no longer needed'`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return af.act(cmd, args[0], func(ctx context.Context, c jitv1.BrokerClient, id string) (*jitv1.AccessRequest, error) {
				return c.Withdraw(ctx, &jitv1.WithdrawRequest{Id: id, Comment: comment})
			})
		},
	}
	c.Flags().StringVar(&comment, "comment", "", "why, for the audit log")
	return c
}

func newAccessRevokeCmd(af *accessFlags) *cobra.Command {
	var comment string
	c := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an approved request's grant before it expires",
		Long: `Revoke an approved request's grant before it expires. Its requester (giving
access up early) and its approvers may. Services following the broker's
revocation feed refuse the grant with GRANT_REVOKED from then on.`,
		Example: `  jitbench access revoke --as carol --group security "$REQ" --comment 'incident closed'`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return af.act(cmd, args[0], func(ctx context.Context, c jitv1.BrokerClient, id string) (*jitv1.AccessRequest, error) {
				return c.Revoke(ctx, &jitv1.RevokeRequest{Id: id, Comment: comment})
			})
		},
	}
	c.Flags().StringVar(&comment, "comment", "", "why, for the requester and the audit log")
	return c
}

// stateName spells a state as the broker's messages do: PENDING, APPROVED, ...
func stateName(s jitv1.State) string { return strings.TrimPrefix(s.String(), "STATE_") }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// scopeText spells a scope briefly: "demo.v1.Vault Read,List on secrets/*".
func scopeText(s *jitv1.Scope) string {
	prefix := "/" + s.GetService() + "/"
	methods := make([]string, len(s.GetMethods()))
	for i, m := range s.GetMethods() {
		methods[i] = strings.TrimPrefix(m, prefix)
	}
	res := s.GetResource()
	if res == "" {
		res = "any resource"
	}
	return fmt.Sprintf("%s %s on %s", s.GetService(), strings.Join(methods, ","), res)
}

// reviewsText spells reviews as "approvals/needed reviewer reviewer(deny)".
func reviewsText(r *jitv1.AccessRequest) string {
	n := 0
	var who []string
	for _, rv := range r.GetReviews() {
		if rv.GetDecision() == jitv1.Decision_DECISION_APPROVE {
			n++
			who = append(who, rv.GetReviewer())
		} else {
			who = append(who, rv.GetReviewer()+"(deny)")
		}
	}
	return strings.TrimSpace(fmt.Sprintf("%d/%d %s", n, r.GetApprovalsNeeded(), strings.Join(who, ",")))
}

// ago spells how long ago t was, coarsely: 12s, 5m, 3h, 2d.
func ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(max(d, 0)/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

func printTable(w io.Writer, reqs []*jitv1.AccessRequest, now time.Time) {
	if len(reqs) == 0 {
		fmt.Fprintln(w, "no access requests match")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tREQUESTER\tSTATE\tSCOPE\tAGE\tREVIEWS")
	for _, r := range reqs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.GetId(), r.GetRequester(), stateName(r.GetState()),
			scopeText(r.GetScope()), ago(r.GetCreatedAt().AsTime(), now), reviewsText(r))
	}
	_ = tw.Flush()
}

// describe prints a request for people, with the grant as an export line
// when the caller received it.
func describe(w io.Writer, r *jitv1.AccessRequest, now time.Time) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("request %s %s", r.GetId(), stateName(r.GetState()))
	p("  requester:     %s", r.GetRequester())
	p("  scope:         %s", scopeText(r.GetScope()))
	d := shortDuration(r.GetDuration().AsDuration())
	if r.GetOneShot() {
		d += ", one-shot"
	}
	p("  duration:      %s", d)
	if r.GetJustification() != "" {
		p("  justification: %s", r.GetJustification())
	}
	p("  policy:        %s, %d approval(s) needed", r.GetPolicy(), r.GetApprovalsNeeded())
	for _, rv := range r.GetReviews() {
		p("  review:        %s %s at %s: %s", rv.GetReviewer(), strings.TrimPrefix(rv.GetDecision().String(), "DECISION_"),
			rv.GetAt().AsTime().Local().Format(time.TimeOnly), orDash(rv.GetComment()))
	}
	p("  status:        %s (by %s, %s ago)", orDash(r.GetStateReason()), orDash(r.GetActor()), ago(r.GetUpdatedAt().AsTime(), now))
	if r.GetState() == jitv1.State_STATE_PENDING && r.GetPendingUntil() != nil {
		p("  pending until: %s", r.GetPendingUntil().AsTime().Local().Format(time.RFC3339))
	}
	if r.GetGrantId() != "" {
		p("  grant:         %s, expires %s", r.GetGrantId(), r.GetGrantExpiresAt().AsTime().Local().Format(time.RFC3339))
	}
	if r.GetGrant() != "" && r.GetState() == jitv1.State_STATE_APPROVED {
		p("  export GRANT='%s'", r.GetGrant())
	}
}

// revisionLine is one line of 'access watch'.
func revisionLine(r *jitv1.AccessRequest) string {
	line := fmt.Sprintf("%s  rev %d  %-9s by %s: %s", r.GetUpdatedAt().AsTime().Local().Format(time.TimeOnly),
		r.GetRevision(), stateName(r.GetState()), orDash(r.GetActor()), orDash(r.GetStateReason()))
	if r.GetState() == jitv1.State_STATE_APPROVED {
		line += fmt.Sprintf(" (grant %s until %s)", r.GetGrantId(), r.GetGrantExpiresAt().AsTime().Local().Format(time.TimeOnly))
	}
	return line
}
