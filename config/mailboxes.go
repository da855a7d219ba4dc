package config

import (
	"fmt"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"unicode"

	"github.com/cpam/attestd/mailauth"
)

// MailboxConfig is one entry of imap.mailboxes: a mailbox attestd watches,
// one per caisse or per channel (issue 11). Every key left out takes the
// value of the imap section (address, tls, mailbox, folders) or of the
// service (reply_from); username and a password source are its own.
type MailboxConfig struct {
	// Name is the mailbox's name for attestd: unique, [a-z0-9-]. It is the
	// mailbox part of the ledger keys of its messages and the name of its
	// lease (which replica watches it).
	Name     string `yaml:"name"`
	Address  string `yaml:"address,omitempty"`
	TLS      string `yaml:"tls,omitempty"`
	Username string `yaml:"username"`
	Secret   `yaml:",inline"`
	Mailbox  string        `yaml:"mailbox,omitempty"`
	Folders  FoldersConfig `yaml:"folders,omitempty"`
	// ReplyFrom is the From (and the envelope sender) of the replies to
	// the requests of this mailbox; default service.address.
	ReplyFrom string `yaml:"reply_from,omitempty"`
	// Organisme names the organisme this mailbox answers for ("CPAM de
	// Paris"): the replies sign with it. Default: the national name
	// (Assurance Maladie).
	Organisme string `yaml:"organisme,omitempty"`
}

// Mailbox is a watched mailbox with every default applied: what the daemon
// runs one intake for. Build the list with Config.Mailboxes.
type Mailbox struct {
	// Name is the ledger key's mailbox and the lease's name: the entry's
	// name, or without imap.mailboxes the watched folder (imap.mailbox,
	// "INBOX"), as the ledger has always keyed it.
	Name      string
	Address   string
	TLS       string
	Username  string
	Secret    Secret
	Mailbox   string // the IMAP folder requests arrive in
	Folders   FoldersConfig
	ReplyFrom string
	Organisme string // "": the national name
	// key is where the entry sits in the file, for error messages:
	// "imap.mailboxes[1]", or "imap" for the single mailbox.
	key string
}

// Mailboxes returns the mailboxes to watch, defaults applied: one per
// entry of imap.mailboxes, or, without any, the single mailbox that the
// imap section's own keys describe.
func (c *Config) Mailboxes() []Mailbox {
	i := c.IMAP
	if len(i.Mailboxes) == 0 {
		return []Mailbox{{Name: i.Mailbox, Address: i.Address, TLS: i.TLS, Username: i.Username, Secret: i.Secret,
			Mailbox: i.Mailbox, Folders: i.Folders, ReplyFrom: c.Service.Address, key: "imap"}}
	}
	out := make([]Mailbox, len(i.Mailboxes))
	for n, e := range c.withDefaults() {
		out[n] = Mailbox{Name: e.Name, Address: e.Address, TLS: e.TLS, Username: e.Username, Secret: e.Secret,
			Mailbox: e.Mailbox, Folders: e.Folders, ReplyFrom: e.ReplyFrom, Organisme: e.Organisme,
			key: fmt.Sprintf("imap.mailboxes[%d]", n)}
	}
	return out
}

// withDefaults returns the entries of imap.mailboxes with the keys they
// leave out filled in from the imap section and the service.
func (c *Config) withDefaults() []MailboxConfig {
	out := make([]MailboxConfig, len(c.IMAP.Mailboxes))
	for n, e := range c.IMAP.Mailboxes {
		e.Address = or(e.Address, c.IMAP.Address)
		e.TLS = or(e.TLS, c.IMAP.TLS)
		e.Mailbox = or(e.Mailbox, c.IMAP.Mailbox)
		e.Folders.Processed = or(e.Folders.Processed, c.IMAP.Folders.Processed)
		e.Folders.Manual = or(e.Folders.Manual, c.IMAP.Folders.Manual)
		e.Folders.Quarantine = or(e.Folders.Quarantine, c.IMAP.Folders.Quarantine)
		e.ReplyFrom = or(e.ReplyFrom, c.Service.Address)
		out[n] = e
	}
	return out
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Where is the key of the entry in the configuration file, for messages:
// "imap.mailboxes[1]", or "imap".
func (m Mailbox) Where() string { return m.key }

// ServiceAddresses are the addresses the service sends from: service.address
// and every mailbox's reply_from. Mail from any of them is the service's
// own (SPEC section 7, never answered), and the log keeps them in clear.
func (c *Config) ServiceAddresses() []string {
	out := []string{c.Service.Address}
	for _, m := range c.Mailboxes() {
		if !containsFold(out, m.ReplyFrom) {
			out = append(out, m.ReplyFrom)
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// mailboxName is what an entry's name may be: it goes into ledger keys,
// lease rows, log lines and metric labels.
var mailboxName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// checkMailboxes validates imap.mailboxes (or the single mailbox of the
// imap section): names, logins, folders, reply addresses.
func (c *Config) checkMailboxes() error {
	if len(c.IMAP.Mailboxes) > 0 {
		if c.IMAP.Username != "" || c.IMAP.File != "" || c.IMAP.Env != "" {
			return bad("imap.username", "set with imap.mailboxes: give each mailbox its own username and password_env (or password_file) in its entry")
		}
	} else if c.IMAP.Username == "" {
		return bad("imap.username", "empty: the service mailbox's login is needed")
	}
	seen := map[string]string{}
	for _, m := range c.Mailboxes() {
		if err := c.checkMailbox(m); err != nil {
			return err
		}
		if len(c.IMAP.Mailboxes) > 0 {
			if other, dup := seen["name "+m.Name]; dup {
				return bad(m.key+".name", "%q is also the name of %s: each mailbox needs its own", m.Name, other)
			}
			seen["name "+m.Name] = m.key
		}
		same := strings.ToLower(m.Address + " " + m.Username + " " + m.Mailbox)
		if other, dup := seen[same]; dup {
			return bad(m.key+".mailbox", "%s of %s on %s is watched by %s already", m.Mailbox, m.Username, m.Address, other)
		}
		seen[same] = m.key
	}
	return nil
}

func (c *Config) checkMailbox(m Mailbox) error {
	k := m.key + "."
	if m.key != "imap" && !mailboxName.MatchString(m.Name) {
		return bad(k+"name", "%q: want lower-case letters, digits and dashes (paris, lyon-agents), at most 63", m.Name)
	}
	if m.Username == "" {
		return bad(k+"username", "empty: the login of mailbox %s is needed", m.Name)
	}
	if _, _, err := net.SplitHostPort(m.Address); err != nil {
		return bad(k+"address", "%q is not host:port", m.Address)
	}
	if m.TLS != "none" && m.TLS != "starttls" && m.TLS != "tls" {
		return bad(k+"tls", "%q: want none, starttls or tls", m.TLS)
	}
	if m.Mailbox == "" {
		return bad(k+"mailbox", "empty")
	}
	f := m.Folders
	if f.Processed == "" || f.Manual == "" || f.Quarantine == "" {
		return bad(k+"folders", "processed, manual and quarantine must all be named")
	}
	for _, name := range []string{f.Processed, f.Manual, f.Quarantine} {
		if strings.EqualFold(name, m.Mailbox) {
			return bad(k+"folders", "%q is the watched mailbox itself: its messages would be handled again and again", name)
		}
	}
	if a, err := mail.ParseAddress(m.ReplyFrom); m.key != "imap" && (err != nil || a.Address != m.ReplyFrom) {
		return bad(k+"reply_from", "%q is not a bare e-mail address (like attestation-paris@cpam.example)", m.ReplyFrom)
	}
	if len(m.Organisme) > 120 || strings.IndexFunc(m.Organisme, unicode.IsControl) >= 0 {
		return bad(k+"organisme", "at most 120 characters on one line")
	}
	if d := c.DKIM.Domain; d != "" && m.ReplyFrom != c.Service.Address {
		if dom := m.ReplyFrom[strings.LastIndexByte(m.ReplyFrom, '@')+1:]; !mailauth.Aligned(d, dom) {
			return bad(k+"reply_from", "%q is not aligned with dkim.domain %q: receivers' DMARC would ignore the signature", dom, d)
		}
	}
	return nil
}

// checkMailboxSecrets reads every mailbox's password, so that a missing one
// is named at start rather than at the first login.
func (c *Config) checkMailboxSecrets() error {
	for _, m := range c.Mailboxes() {
		if _, err := m.Secret.Password(); err != nil && m.key == "imap" {
			return bad("imap.password_env", "%v", err)
		} else if err != nil {
			return bad(m.key+".password_env", "mailbox %s: %v", m.Name, err)
		}
	}
	return nil
}
