package loadgen

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/internal/localmail"
)

// benchUser is the service mailbox on the embedded IMAP server.
const benchUser = "attestation@cpam.example"

// mailbox is where requests are delivered.
type mailbox interface {
	// deliver puts one message in the service mailbox.
	deliver(raw []byte) error
	// configure points the daemon's imap section at the mailbox and
	// returns its password.
	configure(cfg *config.Config) (password string)
	close()
}

// embedded is localmail's in-process IMAP server; delivery is what a mail
// server does (no IMAP round trip), and the daemon's IDLE sees it.
type embedded struct {
	srv      *localmail.IMAPServer
	password string
}

func startEmbedded() (*embedded, error) {
	b := make([]byte, 9)
	rand.Read(b)
	pw := hex.EncodeToString(b)
	srv, err := localmail.StartIMAP("127.0.0.1:0", map[string]string{benchUser: pw})
	if err != nil {
		return nil, err
	}
	return &embedded{srv: srv, password: pw}, nil
}

func (e *embedded) deliver(raw []byte) error {
	_, err := e.srv.Append(benchUser, "INBOX", raw)
	return err
}

func (e *embedded) configure(cfg *config.Config) string {
	cfg.IMAP.Address, cfg.IMAP.Username, cfg.IMAP.TLS, cfg.IMAP.Mailbox = e.srv.Addr(), benchUser, "none", "INBOX"
	return e.password
}

func (e *embedded) close() { e.srv.Close() }

// remote is the IMAP server of a configuration file: requests are delivered
// by APPEND on a connection of the generator's own.
type remote struct {
	cfg      config.IMAPConfig
	password string
	c        *imapclient.Client
}

func dialRemote(cfg config.IMAPConfig) (*remote, error) {
	pw, err := cfg.Password()
	if err != nil {
		return nil, fmt.Errorf("loadgen: imap password: %w", err)
	}
	host, _, _ := net.SplitHostPort(cfg.Address)
	opts := &imapclient.Options{TLSConfig: &tls.Config{ServerName: host, InsecureSkipVerify: cfg.InsecureSkipVerify}}
	var c *imapclient.Client
	switch cfg.TLS {
	case "tls":
		c, err = imapclient.DialTLS(cfg.Address, opts)
	case "starttls":
		c, err = imapclient.DialStartTLS(cfg.Address, opts)
	default:
		c, err = imapclient.DialInsecure(cfg.Address, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("loadgen: connect to the IMAP server %s: %w", cfg.Address, err)
	}
	if err := c.Login(cfg.Username, pw).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("loadgen: IMAP login as %s: %w", cfg.Username, err)
	}
	return &remote{cfg: cfg, password: pw, c: c}, nil
}

func (r *remote) deliver(raw []byte) error {
	cmd := r.c.Append(r.cfg.Mailbox, int64(len(raw)), &imap.AppendOptions{})
	if _, err := cmd.Write(raw); err != nil {
		cmd.Close()
		return fmt.Errorf("loadgen: APPEND: %w", err)
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("loadgen: APPEND: %w", err)
	}
	if _, err := cmd.Wait(); err != nil {
		return fmt.Errorf("loadgen: APPEND: %w", err)
	}
	return nil
}

func (r *remote) configure(cfg *config.Config) string {
	cfg.IMAP = r.cfg
	return r.password
}

func (r *remote) close() {
	r.c.Logout().Wait()
	r.c.Close()
}
