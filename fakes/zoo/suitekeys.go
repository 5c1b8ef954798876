package zoo

import (
	"fmt"
	"slices"
)

// WithSuiteKeys returns c as its service runs when it reads its grant keys
// from a JWKS URL (Options.JWKSURL) that the suite serves: the grant's key
// source is KeyJWKSURL and the capabilities include CapKeySource and
// CapSuiteKeys. oauth-scope always runs so; scp-array does when given the
// URL; the other members cannot, and get an error.
func (c Convention) WithSuiteKeys() (Convention, error) {
	switch c.Kind {
	case OAuthScope:
		return c, nil
	case ScpArray:
	default:
		return Convention{}, fmt.Errorf("zoo: %s reads its grant key from a file, never from a JWKS URL", c.Kind)
	}
	c.Grant.Key = KeySource{Format: KeyJWKSURL, PrivateFormat: c.Grant.Key.PrivateFormat, PrivatePath: c.Grant.Key.PrivatePath,
		RefreshInterval: filesJWKSRefresh, RefreshCooldown: filesJWKSCooldown}
	caps := slices.Clone(c.Capabilities)
	for _, cp := range []string{CapKeySource, CapSuiteKeys} {
		if !slices.Contains(caps, cp) {
			caps = append(caps, cp)
		}
	}
	c.Capabilities = caps
	return c, nil
}
