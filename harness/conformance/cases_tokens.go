package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/reference/reason"
)

// The token cases: each sends the protected method a credential the fakes
// forger broke in the case's way, one call per variant.

// valid is OK-001: a valid pair, which must pass.
func (r *runner) valid(ctx context.Context, _ *Case) []variant {
	identity, grant, err := r.credentials()
	if err != nil {
		return []variant{failed("valid", err)}
	}
	r.controlIdentity, r.controlGrant = identity, grant
	return []variant{r.call(ctx, "valid", callSpec{md: r.md(identity, grant)})}
}

// noIdentity is ID-001: no identity credential (in single-token, no token at all).
func (r *runner) noIdentity(ctx context.Context, _ *Case) []variant {
	_, grant, err := r.credentials()
	if err != nil {
		return []variant{failed("missing", err)}
	}
	md := metadata.MD{}
	if r.cfg.Profile == TwoToken {
		md.Set(r.cfg.GrantHeader, grant)
	}
	return []variant{r.call(ctx, "missing", callSpec{md: md})}
}

// identityHeader is ID-002 and ID-003: a valid token under the wrong scheme, or sent twice.
func (r *runner) identityHeader(ctx context.Context, c *Case) []variant {
	identity, grant, err := r.credentials()
	if err != nil {
		return []variant{failed(c.ID, err)}
	}
	tok := identity
	if r.cfg.Profile == SingleToken {
		tok = grant
	}
	var out []variant
	for _, name := range forgeVariants(c.ID) {
		vals, err := fakes.HeaderValues(c.ID+"/"+name, headerScheme(r.cfg.IdentityScheme), tok)
		switch {
		case errors.Is(err, fakes.ErrNotApplicable):
			out = append(out, variant{name: name, skip: err.Error()})
			continue
		case err != nil:
			out = append(out, failed(name, err))
			continue
		}
		md := r.md("", grant)
		if r.cfg.Profile == SingleToken {
			md = metadata.MD{}
		}
		md.Append(r.cfg.IdentityHeader, vals...)
		out = append(out, r.call(ctx, name, callSpec{md: md}))
	}
	return out
}

// badIdentity is ID-004: an identity that is expired or signed by a stranger.
// In single-token the token is the grant, and an expired grant is CLM-001's
// (PERMISSION_DENIED there), so only the stranger's signature runs.
func (r *runner) badIdentity(ctx context.Context, c *Case) []variant {
	return r.perVariant(ctx, c, 0, func(name, identity, grant string) (string, string, error) {
		if r.cfg.Profile == TwoToken {
			forged, err := r.idForger.Forge(c.ID + "/" + name)
			return forged, grant, err
		}
		if name != "signature" {
			return "", "", fmt.Errorf("%w: in the single-token profile an expired token is CLM-001 (PERMISSION_DENIED)", fakes.ErrNotApplicable)
		}
		forged, err := r.forger.Forge("SIG-003/known-kid")
		return "", forged, err
	})
}

// profileSkips are variants a profile has no meaning for, and why.
var profileSkips = map[Profile]map[string]string{
	SingleToken: {"FMT-006/case-sub-beside": "in the single-token profile no identity says whose grant it is"},
}

// forged runs every variant of a grant case of the forger's catalog.
func (r *runner) forged(ctx context.Context, c *Case) []variant {
	var bound time.Duration // the call timeout
	if c.ID == "FMT-003" {
		bound = LargeTokenBound
	}
	return r.perVariant(ctx, c, bound, func(name, identity, grant string) (string, string, error) {
		if why, ok := profileSkips[r.cfg.Profile][c.ID+"/"+name]; ok {
			return "", "", fmt.Errorf("%w: %s", fakes.ErrNotApplicable, why)
		}
		forged, err := r.forger.Forge(c.ID + "/" + name)
		return identity, forged, err
	})
}

// perVariant makes one call per variant of c: forge returns the identity and
// grant to send for the variant, one of them forged from the valid pair, or
// why it cannot (the variant is skipped when that wraps fakes.ErrNotApplicable).
func (r *runner) perVariant(ctx context.Context, c *Case, bound time.Duration, forge func(name, identity, grant string) (string, string, error)) []variant {
	identity, grant, err := r.credentials()
	if err != nil {
		return []variant{failed(c.ID, err)}
	}
	var out []variant
	for _, name := range forgeVariants(c.ID) {
		id, g, err := forge(name, identity, grant)
		switch {
		case errors.Is(err, fakes.ErrNotApplicable):
			out = append(out, variant{name: name, skip: err.Error()})
		case err != nil:
			out = append(out, failed(name, err))
		default:
			out = append(out, r.call(ctx, name, callSpec{md: r.md(id, g), bound: bound}))
		}
	}
	return out
}

// replayed is CLM-008: a one-shot grant passes once, and its second use is a replay.
func (r *runner) replayed(ctx context.Context, c *Case) []variant {
	identity, _, err := r.credentials()
	if err != nil {
		return []variant{failed("replay", err)}
	}
	once, err := r.forger.Forge(c.ID)
	if errors.Is(err, fakes.ErrNotApplicable) {
		return []variant{{name: "replay", skip: err.Error()}}
	}
	if err != nil {
		return []variant{failed("replay", err)}
	}
	first := r.call(ctx, "first use", callSpec{md: r.md(identity, once)})
	if first.code != codes.OK {
		return []variant{failed("replay", fmt.Errorf("the first use of a one-shot grant was refused (%s %s): "+
			"does the target honour one-shot grants marked as one_shot says?", reason.CodeName(first.code), first.reason))}
	}
	return []variant{r.call(ctx, "replay", callSpec{md: r.md(identity, once)})}
}

// outOfScopeResource is SCP-002: a grant for another resource, and, when the
// config has one, a request for a resource outside the valid grant.
func (r *runner) outOfScopeResource(ctx context.Context, c *Case) []variant {
	out := r.forged(ctx, c)
	if r.t.outOfScope == nil {
		return out
	}
	identity, grant, err := r.credentials()
	if err != nil {
		return append(out, failed("payload", err))
	}
	return append(out, r.call(ctx, "payload", callSpec{md: r.md(identity, grant), p: r.t.outOfScope}))
}

// streamWithoutGrant is SCP-004: the streaming method called without a
// grant (two-token: with a valid identity; single-token: with no token).
func (r *runner) streamWithoutGrant(ctx context.Context, _ *Case) []variant {
	identity, _, err := r.credentials()
	if err != nil {
		return []variant{failed("no-grant", err)}
	}
	return []variant{r.call(ctx, "no-grant", callSpec{md: r.md(identity, ""), p: r.t.stream})}
}

// forgeVariants are the forger's variants of id; its catalog has every
// token row of ours, and a missing one would make the case fail its setup.
func forgeVariants(id string) []string {
	for _, fc := range fakes.ForgeCases() {
		if fc.ID == id {
			return slices.Clone(fc.Variants)
		}
	}
	return []string{""}
}
