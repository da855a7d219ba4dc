package outbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/wneessen/go-mail/smtp"
)

// connect opens a session: dial, implicit TLS or STARTTLS, greeting, EHLO
// and authentication, all within Timeout and ctx.
func (s *Sender) connect(ctx context.Context) *SendError {
	cfg := s.cfg
	host, _, err := net.SplitHostPort(cfg.Address)
	if err != nil {
		return &SendError{Stage: "dial", Msg: fmt.Sprintf("smtp.address %q is not host:port", cfg.Address), Err: err}
	}
	switch cfg.TLS {
	case "", "none", "starttls", "tls":
	default:
		return &SendError{Stage: "tls", Msg: fmt.Sprintf("smtp.tls %q is not none, starttls or tls", cfg.TLS)}
	}
	dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	dial := cfg.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	conn, err := dial(dctx, "tcp", cfg.Address)
	if err != nil {
		return s.fail(ctx, "dial", fmt.Errorf("connecting to the relay %s: %w", cfg.Address, err))
	}
	tlsConfig := &tls.Config{ServerName: host, InsecureSkipVerify: cfg.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if cfg.TLS == "tls" {
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(dctx); err != nil {
			_ = conn.Close()
			return s.fail(ctx, "tls", fmt.Errorf("TLS with the relay %s: %w", cfg.Address, err))
		}
		conn = tc
	}
	s.conn = conn
	stop := s.watch(dctx)
	defer stop()
	client, err := smtp.NewClient(conn, host)
	if err != nil {
		_ = conn.Close()
		s.conn = nil
		return s.fail(ctx, "greeting", err)
	}
	s.client = client
	if se := s.open(ctx, tlsConfig); se != nil {
		s.drop()
		return se
	}
	return nil
}

// open runs EHLO, STARTTLS and AUTH on a greeted client.
func (s *Sender) open(ctx context.Context, tlsConfig *tls.Config) *SendError {
	cfg := s.cfg
	if err := s.client.Hello(cfg.HELO); err != nil {
		return s.fail(ctx, "hello", err)
	}
	if cfg.TLS == "starttls" {
		if ok, _ := s.client.Extension("STARTTLS"); !ok {
			// A configuration mismatch, or someone stripping STARTTLS:
			// never fall back to clear text; retry while an operator looks.
			return &SendError{Temporary: true, Stage: "tls", Msg: "the relay does not offer STARTTLS: check smtp.tls and the relay"}
		}
		if err := s.client.StartTLS(tlsConfig); err != nil {
			return s.fail(ctx, "tls", fmt.Errorf("STARTTLS with the relay: %w", err))
		}
	}
	if cfg.Username == "" {
		return nil
	}
	auth, se := s.auth()
	if se != nil {
		return se
	}
	if err := s.client.Auth(auth); err != nil {
		if errors.Is(err, smtp.ErrUnencrypted) {
			return &SendError{Stage: "auth", Msg: "refusing to send the SMTP password in clear: set smtp.tls to starttls or tls", Err: err}
		}
		return s.fail(ctx, "auth", err)
	}
	return nil
}

// auth picks PLAIN, or LOGIN when the relay offers only that.
func (s *Sender) auth() (smtp.Auth, *SendError) {
	host, _, _ := net.SplitHostPort(s.cfg.Address)
	_, params := s.client.Extension("AUTH")
	mechs := strings.Fields(strings.ToUpper(params))
	switch {
	case slices.Contains(mechs, "PLAIN"):
		return smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, host, false), nil
	case slices.Contains(mechs, "LOGIN"):
		return smtp.LoginAuth(s.cfg.Username, s.cfg.Password, host, false), nil
	}
	return nil, &SendError{Stage: "auth", Msg: fmt.Sprintf("the relay offers no PLAIN or LOGIN authentication (AUTH %q): check smtp.username", params)}
}
