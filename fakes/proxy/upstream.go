package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
)

// CheckUpstream reports whether the upstream at addr (host:port) answers:
// a TCP connection, and with tlsCfg a TLS handshake offering alpn. The
// error says which step failed, in one line.
func CheckUpstream(ctx context.Context, addr string, tlsCfg *tls.Config, alpn ...string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("%s does not answer: %w", addr, unwrapOp(err))
	}
	defer conn.Close()
	if tlsCfg == nil {
		return nil
	}
	cfg := tlsCfg.Clone()
	if cfg.ServerName == "" {
		host, _, _ := net.SplitHostPort(addr)
		cfg.ServerName = host
	}
	if len(alpn) > 0 && !slices.Equal(cfg.NextProtos, alpn) {
		cfg.NextProtos = alpn
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("%s answers, but the TLS handshake failed: %w", addr, unwrapOp(err))
	}
	return nil
}

// unwrapOp drops the "dial tcp 1.2.3.4:5:" prefix a *net.OpError adds to
// its cause, since the message already names the address.
func unwrapOp(err error) error {
	if op, ok := err.(*net.OpError); ok && op.Err != nil {
		return op.Err
	}
	return err
}
