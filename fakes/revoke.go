package fakes

import "context"

// KindRevoke names the fault that revokes every active grant.
const KindRevoke = "revoke"

type revokeParams struct{}

func init() {
	register(KindRevoke, "revokes every active grant once, when the window opens", revokeParams{}, newRevoke)
	onExternal(KindRevoke, "the config's revoke hook, for every grant handed out; refused without one")
}

func newRevoke(params map[string]any) (Fault, error) {
	if err := decodeParams(params, &revokeParams{}); err != nil {
		return nil, err
	}
	return brokerOnce(func(ctx context.Context, b BrokerControl) (Effect, error) {
		n, err := b.RevokeActive(ctx)
		return Effect{What: "revoked " + count(int64(n), "active grant"), Met: int64(n)}, err
	}), nil
}
