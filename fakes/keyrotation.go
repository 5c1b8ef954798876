package fakes

import "context"

// KindKeyRotation names the fault that rotates the broker's signing key.
const KindKeyRotation = "key-rotation"

type keyRotationParams struct{}

func init() {
	register(KindKeyRotation, "makes a new broker signing key current once, when the window opens; the old one verifies for the overlap",
		keyRotationParams{}, newKeyRotation)
	onExternal(KindKeyRotation, "key source: a fresh key is served and signs every grant from then on; refused without key_source")
}

func newKeyRotation(params map[string]any) (Fault, error) {
	if err := decodeParams(params, &keyRotationParams{}); err != nil {
		return nil, err
	}
	return brokerOnce(func(ctx context.Context, b BrokerControl) (Effect, error) {
		kid, err := b.RotateKey(ctx)
		if kid == "" {
			return Effect{What: "made no new signing key current"}, err
		}
		return Effect{What: "made signing key " + kid + " current", Met: 1}, err
	}), nil
}
