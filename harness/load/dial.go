package load

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/jitbench/jitbench/reference/filecap"
)

// DefaultConnectTimeout bounds the wait for a target's connections when DialOptions.Timeout is zero.
const DefaultConnectTimeout = 5 * time.Second

// DialOptions say how to reach a target.
type DialOptions struct {
	// Connections is the number of connections to open; zero means one.
	Connections int
	// TLS secures the connections; nil means plaintext.
	TLS *tls.Config
	// Dialer, when set, opens the raw connections (an in-process listener).
	Dialer func(ctx context.Context, addr string) (net.Conn, error)
	// Timeout bounds the wait until every connection is ready; zero means DefaultConnectTimeout.
	Timeout time.Duration
	// Options are added to every connection's options.
	Options []grpc.DialOption
}

// UnreachableError says a target could not be connected to, and why.
type UnreachableError struct {
	// Addr is the target's address.
	Addr string
	// Err is the cause.
	Err error
}

// Error names the target and the cause in one line.
func (e *UnreachableError) Error() string { return fmt.Sprintf("cannot reach %s: %v", e.Addr, e.Err) }

// Unwrap returns the cause.
func (e *UnreachableError) Unwrap() error { return e.Err }

// Dial opens o.Connections separate connections to addr and waits until
// each is ready, so a run measures the server and not connection set-up.
// A target that cannot be reached is an *UnreachableError. The caller
// closes the connections.
func Dial(ctx context.Context, addr string, o DialOptions) ([]*grpc.ClientConn, error) {
	n := max(o.Connections, 1)
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	creds := insecure.NewCredentials()
	if o.TLS != nil {
		creds = credentials.NewTLS(o.TLS)
	}
	opts := append([]grpc.DialOption{grpc.WithTransportCredentials(creds), grpc.WithUserAgent("jitbench-load")}, o.Options...)
	target := addr
	if o.Dialer != nil {
		opts = append(opts, grpc.WithContextDialer(o.Dialer))
		target = "passthrough:///" + addr
	}
	conns := make([]*grpc.ClientConn, 0, n)
	closeAll := func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}
	for range n {
		c, err := grpc.NewClient(target, opts...)
		if err != nil {
			closeAll()
			return nil, &UnreachableError{Addr: addr, Err: err}
		}
		conns = append(conns, c)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() { errs[i] = waitReady(ctx, c, timeout) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		closeAll()
		return nil, &UnreachableError{Addr: addr, Err: errs[firstError(errs)]}
	}
	return conns, nil
}

func firstError(errs []error) int {
	for i, err := range errs {
		if err != nil {
			return i
		}
	}
	return 0
}

// waitReady connects c and waits until it is ready or has failed.
func waitReady(ctx context.Context, c *grpc.ClientConn, timeout time.Duration) error {
	c.Connect()
	for {
		s := c.GetState()
		switch s {
		case connectivity.Ready:
			return nil
		case connectivity.TransientFailure, connectivity.Shutdown:
			return failureCause(ctx, c)
		}
		if !c.WaitForStateChange(ctx, s) {
			return fmt.Errorf("no connection within %s", timeout)
		}
	}
}

// failureCause asks a failed connection why it failed: a call on it fails
// fast with the transport's error, which grpc does not otherwise expose.
func failureCause(ctx context.Context, c *grpc.ClientConn) error {
	err := c.Invoke(ctx, "/grpc.health.v1.Health/Check", newPayload(nil), discard{}, grpc.ForceCodecV2(rawCodec{}))
	if err == nil {
		return errors.New("the connection failed")
	}
	msg := status.Convert(err).Message()
	// "connection error: desc = "transport: Error while dialing: dial tcp ...: connection refused"" reads better without its wrapping.
	msg = strings.TrimPrefix(msg, "connection error: desc = ")
	msg = strings.Trim(msg, `"`)
	msg = strings.TrimPrefix(msg, "transport: ")
	msg = strings.TrimPrefix(msg, "Error while dialing: ")
	return errors.New(msg)
}

// TLSFiles name the files and settings of a TLS client configuration.
type TLSFiles struct {
	// CACert verifies the server; empty means the system's roots.
	CACert string
	// Cert and Key are a client certificate (mTLS); both or neither.
	Cert, Key string
	// InsecureSkipVerify accepts any server certificate.
	InsecureSkipVerify bool
	// ServerName overrides the name checked in the server's certificate.
	ServerName string
}

// Config builds the TLS configuration; a file that cannot be read or
// parsed is an error naming it.
func (f TLSFiles) Config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.ServerName, InsecureSkipVerify: f.InsecureSkipVerify} //nolint:gosec // the user asked for it
	if f.CACert != "" {
		pem, err := filecap.ReadFile(f.CACert, filecap.Certificate)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate in it", f.CACert)
		}
		cfg.RootCAs = pool
	}
	if (f.Cert == "") != (f.Key == "") {
		return nil, errors.New("a client certificate needs both a certificate and a key file")
	}
	if f.Cert != "" {
		pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
		if err != nil {
			return nil, fmt.Errorf("%s, %s: %w", f.Cert, f.Key, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}
