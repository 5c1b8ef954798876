package fakes

import (
	"fmt"
	"sync/atomic"

	"github.com/jitbench/jitbench/reference/token"
)

// KindTokenMutation names the fault that forges one credential of every call.
const KindTokenMutation = "token-mutation"

type tokenMutationParams struct {
	Credential string `param:"credential" enum:"grant|identity" doc:"which credential is forged (default grant)"`
	Case       string `param:"case,required" doc:"conformance catalog id, optionally with a variant: CLM-001, ALG-001/nOnE"`
}

func init() {
	register(KindTokenMutation, "replaces a credential of every call with its forged variant for a conformance catalog case",
		tokenMutationParams{}, newTokenMutation)
	onExternal(KindTokenMutation, "client side: the catalog case's forged variant, made with the service's keys and layout; a case its keys cannot make is refused")
}

func newTokenMutation(params map[string]any) (Fault, error) {
	p := tokenMutationParams{Credential: CredentialGrant}
	if err := decodeParams(params, &p); err != nil {
		return nil, err
	}
	c, _, err := lookupCase(p.Case)
	if err != nil {
		return nil, &ParamError{Key: "case", Msg: err.Error()}
	}
	if !contains(c.Credentials, p.Credential) {
		return nil, &ParamError{Key: "case", Msg: fmt.Sprintf("%s applies to %v credentials, not %s", c.ID, c.Credentials, p.Credential)}
	}
	if c.Header {
		return FaultFunc(func(env Env) (func(), error) { return headerMutation(env, p.Case), nil }), nil
	}
	return FaultFunc(func(env Env) (func(), error) { return forgeMutation(env, p) }), nil
}

// headerMutation makes the identity header malformed (ID-002, ID-003).
func headerMutation(env Env, id string) func() {
	var sent atomic.Int64
	l := env.Client().Add(func(s *ClientSettings) {
		s.IdentityHeader = func(tok string) []string {
			sent.Add(1)
			v, err := IdentityHeaderValues(id, tok)
			if err != nil { // cannot happen: the case was checked when the fault was built
				return []string{"Bearer " + tok}
			}
			return v
		}
	})
	env.Effect(func() Effect {
		n := sent.Load()
		return Effect{What: fmt.Sprintf("sent a malformed identity header (%s) %s", id, count(n, "time")), Met: n}
	})
	return l.Remove
}

// forgeMutation forges p.Credential on every call with a Forger holding the
// development keys, which are what the reference topology signs with.
func forgeMutation(env Env, p tokenMutationParams) (func(), error) {
	f, err := env.Forger(p.Credential)
	if err != nil {
		return nil, err
	}
	// A dry run turns a case the keys or the target cannot support into an
	// error when the window opens, not a silent pass on every call.
	if _, err := f.Mutate(p.Case, ""); err != nil {
		return nil, err
	}
	var forged atomic.Int64
	l := env.Client().Add(func(s *ClientSettings) {
		prev := s.Mutate
		s.Mutate = func(credential, tok string) string {
			if prev != nil {
				tok = prev(credential, tok)
			}
			if credential != p.Credential {
				return tok
			}
			forged.Add(1)
			out, err := f.Mutate(p.Case, tok)
			if err != nil {
				// The client's token could not be taken apart (another
				// fault broke it): forge from nothing. Failing that, send
				// nothing, so a forgery failure can never look like a pass.
				if out, err = f.Mutate(p.Case, ""); err != nil {
					return ""
				}
			}
			return out
		}
	})
	env.Effect(func() Effect {
		n := forged.Load()
		return Effect{What: fmt.Sprintf("forged the %s (%s) %s", p.Credential, p.Case, count(n, "time")), Met: n}
	})
	return l.Remove, nil
}

// DevForger returns a Forger for credential of the reference system: the
// development keys, placing time cases against the service's clock, with
// the service's leeway and pinned algorithms (skew cases are defined
// relative to the target). A harness Env whose service is the reference
// answers Env.Forger with it.
func DevForger(env Env, credential string) (*Forger, error) {
	clock, err := env.Clock(TargetService)
	if err != nil {
		return nil, err
	}
	svc := env.Service().Settings()
	issuer := token.DevGrantIssuer
	if credential == CredentialIdentity {
		issuer = token.DevIdentityIssuer
	}
	return &Forger{
		Keys:       token.DevKeySet(issuer),
		Issuer:     issuer,
		Audience:   token.DevAudience,
		Subject:    "jitbench-client",
		Clock:      clock,
		Leeway:     svc.Leeway,
		Credential: credential,
		Algorithms: svc.Algorithms,
	}, nil
}
