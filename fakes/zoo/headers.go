package zoo

import (
	"strings"

	"google.golang.org/grpc/metadata"
)

// healthCheck is every member's unprotected control call.
var healthCheck = Call{Method: "/grpc.health.v1.Health/Check", JSON: "{}"}

// bearerToken reads the one authorization value, "Bearer <token>"; fold
// accepts the scheme in any case, as RFC 7235 allows.
func bearerToken(md metadata.MD, fold bool) (string, error) {
	values := md.Get("authorization")
	switch {
	case len(values) == 0:
		return "", refuse("no credentials: send authorization: Bearer <token>")
	case len(values) > 1:
		return "", refuse("several authorization values: send exactly one")
	}
	scheme, tok, ok := strings.Cut(values[0], " ")
	if !ok || tok == "" || (scheme != "Bearer" && !(fold && strings.EqualFold(scheme, "Bearer"))) {
		return "", refuse("authorization must be a Bearer token")
	}
	return tok, nil
}

// single reads the one value of header; missing says how to get one.
func single(md metadata.MD, header, missing string) (string, error) {
	values := md.Get(header)
	switch {
	case len(values) == 0:
		return "", refuse(missing)
	case len(values) > 1:
		return "", refuse("several " + header + " values: send exactly one")
	}
	return values[0], nil
}
