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

// benchUser is the service mailbox on the embedded IMAP server when there
// is one; with several, they are caisse-1@cpam.example and so on.
const benchUser = "attestation@cpam.example"

// mailbox is where requests are delivered.
type mailbox interface {
	// deliver puts one message in the service mailbox, or with several
	// in the next one in turn.
	deliver(raw []byte) error
	// configure points the daemon's imap section at the mailboxes and
	// returns the environment that holds their passwords (the section
	// names them by password_env).
	configure(cfg *config.Config) (secrets map[string]string)
	close()
}

// embedded is localmail's in-process IMAP server; delivery is what a mail
// server does (no IMAP round trip), and the daemon's IDLE sees it.
type embedded struct {
	srv      *localmail.IMAPServer
	users    []string
	password string // of every user
	next     int    // the user the next delivery goes to
}

func startEmbedded(mailboxes int) (*embedded, error) {
	b := make([]byte, 9)
	rand.Read(b)
	e := &embedded{password: hex.EncodeToString(b), users: []string{benchUser}}
	if mailboxes > 1 {
		e.users = e.users[:0]
		for i := range mailboxes {
			e.users = append(e.users, fmt.Sprintf("%s@cpam.example", boxName(i)))
		}
	}
	accounts := map[string]string{}
	for _, u := range e.users {
		accounts[u] = e.password
	}
	srv, err := localmail.StartIMAP("127.0.0.1:0", accounts)
	if err != nil {
		return nil, err
	}
	e.srv = srv
	return e, nil
}

// boxName is the name of the mailbox i of several: caisse-1, caisse-2...
func boxName(i int) string { return fmt.Sprintf("caisse-%d", i+1) }

func (e *embedded) deliver(raw []byte) error {
	u := e.users[e.next]
	e.next = (e.next + 1) % len(e.users)
	_, err := e.srv.Append(u, "INBOX", raw)
	return err
}

func (e *embedded) configure(cfg *config.Config) map[string]string {
	cfg.IMAP.Address, cfg.IMAP.TLS, cfg.IMAP.Mailbox = e.srv.Addr(), "none", "INBOX"
	if len(e.users) == 1 {
		cfg.IMAP.Username, cfg.IMAP.Secret = benchUser, config.Secret{Env: passwordEnv}
		return map[string]string{passwordEnv: e.password}
	}
	cfg.IMAP.Username, cfg.IMAP.Secret = "", config.Secret{}
	secrets := map[string]string{}
	for i, u := range e.users {
		env := fmt.Sprintf("%s_%d", passwordEnv, i+1)
		cfg.IMAP.Mailboxes = append(cfg.IMAP.Mailboxes, config.MailboxConfig{
			Name: boxName(i), Username: u, Secret: config.Secret{Env: env}})
		secrets[env] = e.password
	}
	return secrets
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

func (r *remote) configure(cfg *config.Config) map[string]string {
	cfg.IMAP = r.cfg
	cfg.IMAP.Secret = config.Secret{Env: passwordEnv}
	return map[string]string{passwordEnv: r.password}
}

func (r *remote) close() {
	r.c.Logout().Wait()
	r.c.Close()
}
