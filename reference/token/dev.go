package token

import "fmt"

// Development identities: `jitbench serve` and `jitbench token mint` derive
// the same keys from these names, so a token minted in one process verifies
// in the other without a key file. They are public knowledge and for local
// use only; pass a key file (--keys) for anything else.
const (
	// DevIdentityIssuer is the iss of identity tokens from the development identity provider.
	DevIdentityIssuer = "jitbench-dev-idp"
	// DevGrantIssuer is the iss of grants from the development broker.
	DevGrantIssuer = "jitbench-dev-broker"
	// DevAudience is the aud the demo service expects.
	DevAudience = "demo.v1.Vault"
)

// DevKeySet returns the development key set of issuer: EdDSA (signing),
// ES256 and HS256 keys derived from its name, with kids "<issuer>-<alg>".
func DevKeySet(issuer string) *KeySet {
	set := NewKeySet()
	for _, alg := range []string{EdDSA, ES256, HS256} {
		k, err := DeriveKey(alg, DevKeyID(issuer, alg), issuer)
		if err != nil {
			// Derivation of these algorithms cannot fail for a SHA-256 seed;
			// a failure means the crypto library changed under us.
			panic(fmt.Sprintf("derive dev key %s/%s: %v", issuer, alg, err))
		}
		set.Add(k)
	}
	return set
}

// DevKeyID is the kid of the development key of issuer for alg.
func DevKeyID(issuer, alg string) string { return issuer + "-" + alg }
