package zoo

import (
	"fmt"
	"net"
	"net/http"
	"time"
)

// ImmediateRevocation, as Options.RevocationDelay, makes a revocation reach
// the verifier at once (zero there means the member's own delay).
const ImmediateRevocation time.Duration = -1

// maxJTIBytes bounds the grant id an admin endpoint accepts: no issuer
// needs more, and the deny lists hold them in memory.
const maxJTIBytes = 256

// adminAPI is a guard that also has an admin HTTP API (its team's
// revocation endpoint), served beside the gRPC service.
type adminAPI interface {
	adminHandler() http.Handler
}

// revocationDelay is the delay o asks for, own (the member's) when o says nothing.
func (o Options) revocationDelay(own time.Duration) time.Duration {
	switch {
	case o.RevocationDelay < 0:
		return 0
	case o.RevocationDelay == 0:
		return own
	}
	return o.RevocationDelay
}

// revocationKeep is how long after a revocation its entry can matter on a
// service with leeway and maxLife: the grant was issued (iat) by then, give
// or take the leeway, so it expires within maxLife of that and is refused
// as expired leeway later. Past it the entry can be forgotten.
func revocationKeep(maxLife, leeway time.Duration) time.Duration {
	return maxLife + 2*leeway
}

// adminServer serves an admin API on a loopback port of its own: it is
// never exposed where the gRPC service is.
type adminServer struct {
	url    string
	srv    *http.Server
	served chan struct{}
}

// serveAdmin serves h on a free loopback port until close.
func serveAdmin(h http.Handler) (*adminServer, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("zoo: admin listen: %w", err)
	}
	a := &adminServer{url: "http://" + lis.Addr().String(), served: make(chan struct{}),
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, MaxHeaderBytes: 16 << 10}}
	go func() {
		defer close(a.served)
		_ = a.srv.Serve(lis) // returns when close closes the server
	}()
	return a, nil
}

// close stops serving, ending open requests, and waits.
func (a *adminServer) close() {
	if a == nil {
		return
	}
	_ = a.srv.Close()
	<-a.served
}
