package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/metadata"
)

// HTTPConfig is the HTTP proxy's configuration.
type HTTPConfig struct {
	Options
	// Upstream is the base URL requests go to, http://host:port or https://host:port.
	Upstream *url.URL
	// UpstreamTLS, when not nil, configures the TLS of an https upstream.
	UpstreamTLS *tls.Config
	// ServerTLS, when not nil, serves clients over TLS.
	ServerTLS *tls.Config
}

// HTTPProxy is the plain HTTP reverse proxy, for the key sources and
// identity providers of a gRPC service: latency, abort with an HTTP
// status, blackhole, reset and header rewrites apply to it.
type HTTPProxy struct {
	eng *engine
	rp  *httputil.ReverseProxy
	srv *http.Server
	tls *tls.Config
}

// NewHTTP returns an HTTP proxy to cfg.Upstream.
func NewHTTP(cfg HTTPConfig) (*HTTPProxy, error) {
	u := cfg.Upstream
	if u == nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("proxy: the HTTP upstream must be an http:// or https:// URL with a host")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.UpstreamTLS != nil {
		tr.TLSClientConfig = cfg.UpstreamTLS.Clone()
	}
	p := &HTTPProxy{eng: newEngine(HTTP, cfg.Options), tls: cfg.ServerTLS}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			// SetURL sets Host from the upstream; keep it, a key source checks it.
		},
		Transport: tr,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client is gone
			}
			http.Error(w, "jitbench proxy: upstream: "+oneLine(err.Error()), http.StatusBadGateway)
		},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
	return p, nil
}

// Faults is the proxy's live fault set.
func (p *HTTPProxy) Faults() *Faults { return p.eng.faults }

// Metrics are the proxy's counters.
func (p *HTTPProxy) Metrics() *Metrics { return p.eng.metrics }

// Serve accepts clients on lis until Close; it returns nil after a close.
func (p *HTTPProxy) Serve(lis net.Listener) error {
	if p.tls != nil {
		lis = tls.NewListener(lis, p.tls)
	}
	err := p.srv.Serve(lis)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting requests and waits for those under way until ctx ends.
func (p *HTTPProxy) Shutdown(ctx context.Context) error { return p.srv.Shutdown(ctx) }

// Close ends every request and connection at once.
func (p *HTTPProxy) Close() error { return p.srv.Close() }

// ServeHTTP forwards one request through the faults.
func (p *HTTPProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	md := metadata.MD{}
	for k, v := range r.Header {
		md[strings.ToLower(k)] = v
	}
	deadline, _ := r.Context().Deadline()
	c := p.eng.newCall(HTTP, r.URL.Path, md, deadline)
	rec := &statusRecorder{ResponseWriter: w}
	code := ""
	defer func() {
		if code == "" {
			code = strconv.Itoa(rec.status())
		}
		p.eng.metrics.returned(c.Method, code)
	}()
	if err := p.eng.apply(r.Context(), c); err != nil {
		var ae *AbortError
		switch {
		case errors.Is(err, ErrReset):
			code = "reset"
			panic(http.ErrAbortHandler) // closes an HTTP/1 connection, resets an HTTP/2 stream
		case errors.As(err, &ae):
			http.Error(rec, ae.Message, ae.HTTPCode())
		case r.Context().Err() != nil:
			code = "client-gone"
		default:
			http.Error(rec, "jitbench proxy: "+oneLine(err.Error()), http.StatusInternalServerError)
		}
		return
	}
	r.Header = http.Header{}
	for k, v := range c.MD {
		r.Header[http.CanonicalHeaderKey(k)] = v
	}
	p.rp.ServeHTTP(rec, r)
}

// statusRecorder remembers the status a handler wrote, for the counters.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (flushes, deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}

// oneLine keeps the first line of an error for a one-line answer.
func oneLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// ParseHTTPUpstream reads an HTTP upstream: http://host:port or
// https://host:port (a path is kept as a prefix), or host:port, which is
// http, or https when tls is set.
func ParseHTTPUpstream(s string, tls bool) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		scheme := "http"
		if tls {
			scheme = "https"
		}
		s = scheme + "://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("not a URL or host:port: %q", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("want http:// or https://, got %q", u.Scheme+"://")
	}
	if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
		return nil, fmt.Errorf("want host:port in %q", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("an upstream URL has no user, query or fragment: %q", s)
	}
	if tls && u.Scheme == "http" {
		return nil, fmt.Errorf("%q is http://, but TLS toward the upstream is asked for", s)
	}
	return u, nil
}
