package zoo

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// filesMaxJWKSBytes bounds the key set a files service reads: a handful of
// EC keys is a few hundred bytes.
const filesMaxJWKSBytes = 64 << 10

// filesJWK is the part of a JSON Web Key the files team reads; D and K are
// decoded only to refuse a set that publishes private material.
type filesJWK struct {
	Kty string  `json:"kty"`
	Crv string  `json:"crv"`
	X   string  `json:"x"`
	Y   string  `json:"y"`
	Kid string  `json:"kid"`
	Alg string  `json:"alg"`
	Use string  `json:"use"`
	D   *string `json:"d"`
	K   *string `json:"k"`
}

// filesFetchKeys GETs the key set at url within ctx and returns its ES256
// keys by kid, written by hand (no JOSE library) as the files team reads
// PEM files: only what a grant can be verified with is kept.
func filesFetchKeys(ctx context.Context, client *http.Client, url string) (map[string]*ecdsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("grant key set URL: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch the grant key set: %w", err)
	}
	defer func() { _ = resp.Body.Close() }() // read below; a close error changes nothing
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch the grant key set: HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, filesMaxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read the grant key set: %w", err)
	}
	if len(body) > filesMaxJWKSBytes {
		return nil, fmt.Errorf("the grant key set is larger than %d bytes", filesMaxJWKSBytes)
	}
	return parseFilesJWKS(body)
}

// parseFilesJWKS reads a JWKS document strictly: one JSON object without
// duplicate names, a keys array, no private material in any key, and no
// kid on two usable keys. Keys this service cannot use (another type or
// curve, another algorithm, an encryption key, no kid) are skipped; a set
// left with none is refused, so that the last good set stays in use.
func parseFilesJWKS(body []byte) (map[string]*ecdsa.PublicKey, error) {
	if err := checkJSONObject(body, nil, strict); err != nil {
		return nil, fmt.Errorf("the grant key set: %w", err)
	}
	var doc struct {
		Keys *[]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("the grant key set: %w", err)
	}
	if doc.Keys == nil {
		return nil, errors.New("the grant key set has no keys member")
	}
	keys := make(map[string]*ecdsa.PublicKey)
	for i, raw := range *doc.Keys {
		var k filesJWK
		dec := json.NewDecoder(bytes.NewReader(raw))
		if err := dec.Decode(&k); err != nil {
			return nil, fmt.Errorf("the grant key set: keys[%d]: %w", i, err)
		}
		if k.D != nil || k.K != nil {
			return nil, fmt.Errorf("the grant key set: keys[%d] carries private key material", i)
		}
		if k.Kty != "EC" || k.Crv != "P-256" || k.Kid == "" || (k.Alg != "" && k.Alg != ES256) || (k.Use != "" && k.Use != "sig") {
			continue
		}
		if _, dup := keys[k.Kid]; dup {
			return nil, fmt.Errorf("the grant key set: kid %q names two keys", k.Kid)
		}
		pub, err := filesECPoint(k.X, k.Y)
		if err != nil {
			return nil, fmt.Errorf("the grant key set: keys[%d] (kid %q): %w", i, k.Kid, err)
		}
		keys[k.Kid] = pub
	}
	if len(keys) == 0 {
		return nil, errors.New("the grant key set has no ES256 key with a kid")
	}
	return keys, nil
}

// filesECPoint is the P-256 point (x, y), each 32 bytes of unpadded
// base64url; a point off the curve is refused.
func filesECPoint(x, y string) (*ecdsa.PublicKey, error) {
	xb, err := base64.RawURLEncoding.Strict().DecodeString(x)
	if err != nil || len(xb) != 32 {
		return nil, errors.New("x is not 32 bytes of unpadded base64url")
	}
	yb, err := base64.RawURLEncoding.Strict().DecodeString(y)
	if err != nil || len(yb) != 32 {
		return nil, errors.New("y is not 32 bytes of unpadded base64url")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, xb...), yb...))
	if err != nil {
		return nil, errors.New("the point is not on P-256")
	}
	return pub, nil
}
