package fakes

// KindCredentialsMissing names the fault where the client attaches no credentials.
const KindCredentialsMissing = "credentials-missing"

type credentialsMissingParams struct {
	Credential string `param:"credential,required" enum:"identity|grant|both" doc:"which credential the client leaves off"`
}

func init() {
	register(KindCredentialsMissing, "the client leaves its identity, its grant or both off every call",
		credentialsMissingParams{}, newCredentialsMissing)
	onExternal(KindCredentialsMissing, "client side: the identity, the grant or both are left off")
}

func newCredentialsMissing(params map[string]any) (Fault, error) {
	var p credentialsMissingParams
	if err := decodeParams(params, &p); err != nil {
		return nil, err
	}
	what := map[string]string{CredentialIdentity: "the identity", CredentialGrant: "the grant"}[p.Credential]
	if what == "" {
		what = "the identity and the grant"
	}
	return FaultFunc(func(env Env) (func(), error) {
		l := env.Client().Add(func(s *ClientSettings) {
			s.OmitIdentity = s.OmitIdentity || p.Credential != CredentialGrant
			s.OmitGrant = s.OmitGrant || p.Credential != CredentialIdentity
		})
		layerEffect(env, "call", func(met string) string { return "left " + what + " off " + met }, l)
		return l.Remove, nil
	}), nil
}
