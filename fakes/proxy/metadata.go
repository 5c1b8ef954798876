package proxy

import (
	"context"
	"regexp"
	"strings"
)

// metadataRewrite drops, replaces or corrupts one request header on its
// way to the upstream: "tokens not propagated", a stale or tampered token.
type metadataRewrite struct {
	header string
	action string
	value  string
}

// headerName is what a gRPC metadata key (and an HTTP header, lower-cased) may be.
var headerName = regexp.MustCompile(`^[0-9a-z_.-]+$`)

func init() {
	Register(Kind{
		Name:    "metadata",
		Summary: "drop, replace or corrupt a request header on its way upstream (default: the authorization credential)",
		Params: []ParamDoc{
			{"header", "header name", "the metadata key or HTTP header, in lower case (default authorization; x-jit-grant for the reference's grants)"},
			{"action", "one of drop, replace, corrupt", "drop every value; replace them with value; or corrupt each: change one character in the middle of its last '.'-separated part, the signature of a JWT (required)"},
			{"value", "text", "the replacement, for action=replace (required there)"},
		},
		Protocols: GRPC | HTTP,
		New:       newMetadataRewrite,
	})
}

func newMetadataRewrite(p Params, _ Protocol) (Fault, error) {
	f := &metadataRewrite{header: p.String("header", "authorization")}
	if !headerName.MatchString(f.header) {
		return nil, paramErr("header", "%q is not a metadata key: use lower-case letters, digits, '-', '_' or '.'", f.header)
	}
	if strings.HasSuffix(f.header, "-bin") {
		return nil, paramErr("header", "binary (-bin) metadata is not rewritten: name a text header")
	}
	if !p.Has("action") {
		return nil, paramErr("action", "required: one of drop, replace, corrupt")
	}
	var err error
	if f.action, err = p.Enum("action", "", "drop", "replace", "corrupt"); err != nil {
		return nil, err
	}
	switch {
	case f.action == "replace" && !p.Has("value"):
		return nil, paramErr("value", "required with action=replace: the value the upstream should see")
	case f.action != "replace" && p.Has("value"):
		return nil, paramErr("value", "only used with action=replace")
	}
	f.value = p.String("value", "")
	return f, nil
}

func (f *metadataRewrite) Apply(_ context.Context, c *Call) error {
	vals := c.MD.Get(f.header)
	c.Note("header", f.header)
	c.Note("action", f.action)
	c.Note("present", len(vals) > 0)
	switch f.action {
	case "drop":
		c.MD.Delete(f.header)
	case "replace":
		c.MD.Set(f.header, f.value)
	case "corrupt":
		out := make([]string, len(vals))
		for i, v := range vals {
			out[i] = corrupt(v)
		}
		if len(out) > 0 {
			c.MD.Set(f.header, out...)
		}
	}
	return nil
}

// corrupt changes one character in the middle of v's last '.'-separated
// part, to another character of the base64url alphabet: a JWT keeps its
// shape and fails its signature check, as a tampered token would.
// A character in the middle of a signature carries six signature bits, so
// the change is never absorbed by padding bits.
func corrupt(v string) string {
	if v == "" {
		return v
	}
	start := strings.LastIndexByte(v, '.') + 1
	if start == len(v) { // ends with '.': corrupt the character before
		start = 0
	}
	i := start + (len(v)-start)/2
	b := []byte(v)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
