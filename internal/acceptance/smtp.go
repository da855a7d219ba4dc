package acceptance

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTPDelivery delivers requests by SMTP submission instead of IMAP APPEND,
// through the MTA in front of the service mailbox; it looks for them in the
// folders through Inbox. One connection per message.
type SMTPDelivery struct {
	// Inbox is the service mailbox, for Mailbox and Locate.
	Inbox
	// Server is the SMTP server (ParseSMTPURL); a Username logs in with
	// PLAIN.
	Server Server
	// To is the envelope recipient: the service address.
	To string
	// TLSConfig is used for TLS; nil: the system's roots, the URL's host as
	// server name.
	TLSConfig *tls.Config
	// Timeout bounds the dial and every command. Zero: 30 s.
	Timeout time.Duration
}

// Deliver submits raw to s.To. The envelope sender is the request's
// Return-Path, or its From address; a request from MAILER-DAEMON (a bounce)
// has the null sender, as real bounces do.
func (s *SMTPDelivery) Deliver(ctx context.Context, raw []byte) error {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	d := &net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", s.Server.Addr)
	if err != nil {
		return fmt.Errorf("smtp: connect to %s: %w", s.Server.Addr, err)
	}
	conn.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	cfg := s.TLSConfig
	if cfg == nil {
		host, _, _ := net.SplitHostPort(s.Server.Addr)
		cfg = &tls.Config{ServerName: host}
	}
	var c *smtp.Client
	switch {
	case s.Server.TLS:
		c = smtp.NewClient(tls.Client(conn, cfg))
	case s.Server.StartTLS:
		if c, err = smtp.NewClientStartTLS(conn, cfg); err != nil {
			conn.Close()
			return fmt.Errorf("smtp %s: STARTTLS: %w", s.Server.Addr, err)
		}
	default:
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	if s.Server.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.Server.Username, s.Server.Password)); err != nil {
			return fmt.Errorf("smtp %s: login as %s: %w", s.Server.Addr, s.Server.Username, err)
		}
	}
	if err := c.SendMail(envelopeSender(raw), []string{s.To}, bytes.NewReader(raw)); err != nil {
		return fmt.Errorf("smtp %s: %w", s.Server.Addr, err)
	}
	return c.Quit()
}

// envelopeSender is the MAIL FROM of a request.
func envelopeSender(raw []byte) string {
	if rp := strings.TrimSpace(headerOf(raw, "Return-Path")); rp != "" {
		return strings.Trim(rp, "<>")
	}
	a, err := mail.ParseAddress(headerOf(raw, "From"))
	if err != nil {
		return ""
	}
	if local, _, _ := strings.Cut(a.Address, "@"); strings.EqualFold(local, "mailer-daemon") {
		return ""
	}
	return a.Address
}
