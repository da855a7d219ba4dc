// Package web is attestd's one HTTP server (issue 13): the operator
// console, server-rendered in French; the public /verify page, which checks
// the signed code of an attestation (package seal); and the HTTP API POST
// /v1/attestations that answers the web site, the app and the kiosks under
// the same rules as the mail channel.
package web

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/decide"
	"github.com/cpam/attestd/seal"
	"github.com/cpam/attestd/store"
)

// Daemon is what the server asks of the daemon: decide an API request,
// decide a filed message again.
type Daemon interface {
	Attest(ctx context.Context, req decide.APIRequest) (decide.APIAnswer, error)
	Retry(ctx context.Context, claimID int64, who, comment string) error
}

// Options are the server's parts.
type Options struct {
	Config config.Config
	Store  *store.DB
	Daemon Daemon
	Logger *slog.Logger
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Metrics, when not nil, are the daemon's metrics (package metrics):
	// the dashboard shows the connections' state and the counters.
	Metrics prometheus.Gatherer
}

// Server is the HTTP server.
type Server struct {
	o        Options
	sessions *sessions
	pages    *pages
	// keys are those /verify trusts; verifyLimit bounds its checks.
	keys        seal.KeyRing
	verifyLimit *windowLimit
	// apiSlots bounds the API calls decided at once; the others wait
	// their turn in the order they came (see New).
	apiSlots chan struct{}
	// clientCAs sign the TLS client certificates of API clients; nil: no
	// client certificate is asked for.
	clientCAs *x509.CertPool
	ln        net.Listener
	srv       *http.Server
}

// New builds the server without listening.
func New(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	p, err := loadPages()
	if err != nil {
		return nil, err
	}
	keys, err := loadKeys(o.Config.HTTP.VerifyKeys)
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, pages: p, sessions: newSessions(o.Config.Console, o.Now), keys: keys,
		verifyLimit: &windowLimit{n: max(o.Config.HTTP.VerifyPerMinute, 1)},
		// A decision is CPU (the PDF) and a few store round trips: more at
		// once than twice the CPUs only adds goroutines that compete for
		// them, and for the rate-limit gate and the store's few
		// connections, so that under a burst every call gets slower and
		// the gate's holder waits behind them all.
		apiSlots: make(chan struct{}, max(4, 2*runtime.GOMAXPROCS(0)))}
	if cas := o.Config.HTTP.ClientCAs; len(cas) > 0 {
		if s.clientCAs, err = config.LoadCertPool(cas); err != nil {
			return nil, fmt.Errorf("web: http.client_cas: %w", err)
		}
	}
	return s, nil
}

// Handler routes every path of the server.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/attestations", s.apiAttestations)
	mux.HandleFunc("GET /v1/openapi.json", serveOpenAPI)
	mux.HandleFunc("GET /verify", s.verifyPage)
	mux.HandleFunc("POST /verify", s.verifyPage)
	// Liveness, without log-in, for a load balancer in front of this
	// port; readiness (IMAP, SMTP, store) stays on metrics.address, whose
	// reasons name internal hosts.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	s.consoleRoutes(mux)
	return securityHeaders(mux)
}

// securityHeaders sets the headers every answer carries: no framing, no
// sniffing, no third-party script.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
		h.ServeHTTP(w, r)
	})
}

// Listen starts serving on the configured http.address (port 0 picks a free
// one, see Addr). It fails at once when the address cannot be listened on.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.o.Config.HTTP.Address)
	if err != nil {
		return fmt.Errorf("web: listen on %s: %w (check http.address)", s.o.Config.HTTP.Address, err)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog:  slog.NewLogLogger(s.o.Logger.Handler(), slog.LevelWarn),
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12},
	}
	if s.clientCAs != nil {
		// Asked for, not required: the console's users and the clients
		// with a token come without one. One given must verify.
		s.srv.TLSConfig.ClientCAs, s.srv.TLSConfig.ClientAuth = s.clientCAs, tls.VerifyClientCertIfGiven
	}
	cert, key := s.o.Config.HTTP.TLSCert, s.o.Config.HTTP.TLSKey
	go func() {
		var err error
		if cert != "" {
			err = s.srv.ServeTLS(ln, cert, key)
		} else {
			err = s.srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.o.Logger.Error("web server stopped", "err", err)
		}
	}()
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server, letting requests in progress finish for five
// seconds.
func (s *Server) Close() error {
	if s.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return s.srv.Close()
	}
	return err
}
