package outbox_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/cpam/attestd/internal/testkit"
	"github.com/cpam/attestd/outbox"
)

// authRelay is a go-smtp server that offers STARTTLS (or implicit TLS) and
// AUTH PLAIN, and records who authenticated and whether over TLS. localmail's
// relay has neither: these paths are only for real relays.
type authRelay struct {
	addr string
	mu   sync.Mutex
	seen []string // "user tls=true" per accepted message
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "relay.test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func startAuthRelay(t *testing.T, implicitTLS, insecureAuth bool) *authRelay {
	t.Helper()
	r := &authRelay{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &authSession{relay: r, conn: c}, nil
	}))
	srv.Domain = "relay.test"
	srv.AllowInsecureAuth = insecureAuth
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	var ln net.Listener
	var err error
	if implicitTLS {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); _ = ln.Close() })
	return r
}

type authSession struct {
	relay *authRelay
	conn  *smtp.Conn
	user  string
}

func (s *authSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *authSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		if user != "attestd" || password != "s3cret" {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Bad credentials"}
		}
		s.user = user
		return nil
	}), nil
}

func (s *authSession) Mail(string, *smtp.MailOptions) error {
	if s.user == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	return nil
}
func (s *authSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *authSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.relay.mu.Lock()
	defer s.relay.mu.Unlock()
	tlsState := "tls=false"
	if isTLS {
		tlsState = "tls=true"
	}
	s.relay.seen = append(s.relay.seen, s.user+" "+tlsState)
	return nil
}
func (s *authSession) Reset()        {}
func (s *authSession) Logout() error { return nil }

func sendOne(t *testing.T, cfg outbox.SMTPConfig) error {
	t.Helper()
	s := newSender(t, cfg)
	return s.Send(testCtx(t), "attestation@cpam.example", []string{"eva@example.org"}, composed(t, 1))
}

func TestSendSTARTTLSAndAuth(t *testing.T) {
	relay := startAuthRelay(t, false, false)
	err := sendOne(t, outbox.SMTPConfig{Address: relay.addr, TLS: "starttls", Username: "attestd", Password: "s3cret", InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(relay.seen) != 1 || relay.seen[0] != "attestd tls=true" {
		t.Errorf("relay saw %q, want one message from attestd over TLS", relay.seen)
	}
}

func TestSendImplicitTLS(t *testing.T) {
	relay := startAuthRelay(t, true, false)
	err := sendOne(t, outbox.SMTPConfig{Address: relay.addr, TLS: "tls", Username: "attestd", Password: "s3cret", InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(relay.seen) != 1 || relay.seen[0] != "attestd tls=true" {
		t.Errorf("relay saw %q", relay.seen)
	}
}

func TestSendUntrustedCertificateIsTemporary(t *testing.T) {
	relay := startAuthRelay(t, false, false)
	err := sendOne(t, outbox.SMTPConfig{Address: relay.addr, TLS: "starttls", Username: "attestd", Password: "s3cret"})
	var se *outbox.SendError
	if !errors.As(err, &se) || se.Stage != "tls" || !se.Temporary {
		t.Fatalf("Send with an untrusted certificate = %v, want a temporary tls error", err)
	}
	if len(relay.seen) != 0 {
		t.Error("a message went through an unverified TLS session")
	}
}

func TestSendWrongPasswordIsPermanent(t *testing.T) {
	relay := startAuthRelay(t, false, false)
	err := sendOne(t, outbox.SMTPConfig{Address: relay.addr, TLS: "starttls", Username: "attestd", Password: "wrong", InsecureSkipVerify: true})
	var se *outbox.SendError
	if !errors.As(err, &se) || se.Stage != "auth" || se.Code != 535 || se.Temporary {
		t.Fatalf("Send with a wrong password = %v, want permanent 535 at auth", err)
	}
}

func TestSendNeverSendsThePasswordInClear(t *testing.T) {
	relay := startAuthRelay(t, false, true)
	cfg := outbox.SMTPConfig{
		Address: "relay.example:25", Username: "attestd", Password: "s3cret",
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, relay.addr)
		},
	}
	err := sendOne(t, cfg)
	var se *outbox.SendError
	if !errors.As(err, &se) || se.Stage != "auth" || se.Temporary {
		t.Fatalf("Send with a password over clear text to a remote name = %v, want a permanent auth refusal", err)
	}
}

func TestSendRequiredSTARTTLSMissing(t *testing.T) {
	relay := testkit.SMTP(t) // localmail offers no STARTTLS
	err := sendOne(t, outbox.SMTPConfig{Address: relay.Addr(), TLS: "starttls"})
	var se *outbox.SendError
	if !errors.As(err, &se) || se.Stage != "tls" {
		t.Fatalf("Send with starttls to a relay without it = %v, want a tls error", err)
	}
	if len(relay.Messages()) != 0 {
		t.Error("the message went out in clear text")
	}
}

// quickSession accepts everything and reports when its connection ends.
type quickSession struct{ ended chan<- struct{} }

func (s quickSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s quickSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s quickSession) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
func (s quickSession) Reset()        {}
func (s quickSession) Logout() error { s.ended <- struct{}{}; return nil }

func TestSendAfterRelayIdleTimeout(t *testing.T) {
	ended := make(chan struct{}, 4)
	conns := 0
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return quickSession{ended: ended}, nil
	}))
	srv.Domain = "relay.test"
	srv.ReadTimeout = 50 * time.Millisecond // says 421 and hangs up when idle
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	s := newSender(t, outbox.SMTPConfig{
		Address: ln.Addr().String(),
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conns++
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	})
	ctx := testCtx(t)
	if err := s.Send(ctx, "a@cpam.example", []string{"b@example.org"}, composed(t, 1)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ended: // the relay gave up on the idle connection
	case <-ctx.Done():
		t.Fatal("the relay never closed the idle connection")
	}
	if err := s.Send(ctx, "a@cpam.example", []string{"b@example.org"}, composed(t, 2)); err != nil {
		t.Fatalf("Send after the relay's idle timeout: %v", err)
	}
	if conns != 2 {
		t.Errorf("%d dials, want 2", conns)
	}
}
