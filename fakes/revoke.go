package fakes

import "context"

// KindRevoke names the fault that revokes every active grant.
const KindRevoke = "revoke"

type revokeParams struct{}

func init() {
	register(KindRevoke, "revokes every active grant once, when the window opens", revokeParams{}, newRevoke)
}

func newRevoke(params map[string]any) (Fault, error) {
	if err := decodeParams(params, &revokeParams{}); err != nil {
		return nil, err
	}
	return brokerOnce(func(ctx context.Context, b BrokerControl) error {
		_, err := b.RevokeActive(ctx)
		return err
	}), nil
}
