package zoo

import (
	"context"
	"crypto/ecdsa"
	"errors"
)

// errNoGrantKey is a kid the files service has no grant key for.
var errNoGrantKey = errors.New("no grant key has this kid")

// filesGrantKeys is where a files service finds the ES256 key a grant's kid
// names: a directory of PEM files read at start, or a JWKS URL refreshed
// in the background (filesKeyring).
type filesGrantKeys interface {
	// key returns the key kid names, errNoGrantKey when there is none.
	key(ctx context.Context, kid string) (*ecdsa.PublicKey, error)
	// all returns every key held now, in no order (the unknown-kid-fallback bug).
	all() []*ecdsa.PublicKey
}

// filesKeyDir is the grant keys read from a directory of <kid>.pem files.
type filesKeyDir map[string]*ecdsa.PublicKey

func (d filesKeyDir) key(_ context.Context, kid string) (*ecdsa.PublicKey, error) {
	if k, ok := d[kid]; ok {
		return k, nil
	}
	return nil, errNoGrantKey
}

func (d filesKeyDir) all() []*ecdsa.PublicKey {
	out := make([]*ecdsa.PublicKey, 0, len(d))
	for _, k := range d {
		out = append(out, k)
	}
	return out
}
