package acceptance

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// The environment variables a URL's password may come from when the URL
// has none, so that it stays out of the shell history and the process list.
const (
	// EnvIMAPPassword is the password of --imap (the service mailbox).
	EnvIMAPPassword = "ATTESTD_ACCEPTANCE_IMAP_PASSWORD"
	// EnvRepliesPassword is the password of --replies when it is an IMAP
	// mailbox.
	EnvRepliesPassword = "ATTESTD_ACCEPTANCE_REPLIES_PASSWORD"
	// EnvSMTPPassword is the password of --smtp.
	EnvSMTPPassword = "ATTESTD_ACCEPTANCE_SMTP_PASSWORD"
)

// Server is a mail server and an account on it, read from a URL.
type Server struct {
	// Addr is host:port.
	Addr string
	// TLS is true for implicit TLS (imaps://, smtps://).
	TLS bool
	// StartTLS is true for STARTTLS (smtp+starttls://).
	StartTLS bool
	// Username and Password log in; both empty: no login (SMTP only).
	Username, Password string
	// Mailbox is the URL's path (IMAP): "INBOX" when empty.
	Mailbox string
}

// ParseIMAPURL reads imap://user:password@host:port/MAILBOX (imaps:// for
// TLS; ports 143 and 993 by default; MAILBOX INBOX by default). The user
// may be written with its @ as is or as %40. Without a password in the URL,
// the password is getenv(passwordEnv).
func ParseIMAPURL(raw, passwordEnv string, getenv func(string) string) (Server, error) {
	s, err := parseServerURL(raw, map[string]string{"imap": "143", "imaps": "993"}, passwordEnv, getenv)
	if err != nil {
		return Server{}, err
	}
	if s.Username == "" {
		return Server{}, fmt.Errorf("%s: no user: write imap://USER@HOST:PORT/MAILBOX", redact(raw))
	}
	if s.Password == "" {
		return Server{}, fmt.Errorf("%s: no password: put it in the URL (imap://USER:PASSWORD@...) or in %s", redact(raw), passwordEnv)
	}
	return s, nil
}

// ParseSMTPURL reads smtp://[user[:password]@]host:port: plain SMTP (port
// 25 by default), smtp+starttls:// for STARTTLS (587), smtps:// for
// implicit TLS (465). A user without a password in the URL takes it from
// getenv(passwordEnv); no user: no login.
func ParseSMTPURL(raw, passwordEnv string, getenv func(string) string) (Server, error) {
	s, err := parseServerURL(raw, map[string]string{"smtp": "25", "smtp+starttls": "587", "smtps": "465"}, passwordEnv, getenv)
	if err != nil {
		return Server{}, err
	}
	if s.Username != "" && s.Password == "" {
		return Server{}, fmt.Errorf("%s: user %s has no password: put it in the URL or in %s", redact(raw), s.Username, passwordEnv)
	}
	s.Mailbox = ""
	return s, nil
}

func parseServerURL(raw string, ports map[string]string, passwordEnv string, getenv func(string) string) (Server, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	defPort, known := ports[strings.ToLower(scheme)]
	if !ok || !known {
		var schemes []string
		for s := range ports {
			schemes = append(schemes, s+"://")
		}
		return Server{}, fmt.Errorf("%s: not a URL of scheme %s", redact(raw), strings.Join(sorted(schemes), " or "))
	}
	// An address as user name (user@domain) has an @ that URLs want as %40:
	// the last @ before the path separates the user from the host.
	authority, path, _ := strings.Cut(rest, "/")
	var userinfo string
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, authority = authority[:i], authority[i+1:]
	}
	scheme = strings.ToLower(scheme)
	s := Server{TLS: scheme == "imaps" || scheme == "smtps", StartTLS: scheme == "smtp+starttls"}
	if userinfo != "" {
		user, pass, hasPass := strings.Cut(userinfo, ":")
		var err error
		if s.Username, err = url.PathUnescape(user); err != nil {
			return Server{}, fmt.Errorf("%s: user: %w", redact(raw), err)
		}
		if hasPass {
			if s.Password, err = url.PathUnescape(pass); err != nil {
				return Server{}, fmt.Errorf("%s: password: %w", redact(raw), err)
			}
		}
	}
	if s.Password == "" && s.Username != "" && getenv != nil {
		s.Password = getenv(passwordEnv)
	}
	if authority == "" {
		return Server{}, fmt.Errorf("%s: no host", redact(raw))
	}
	if _, _, err := net.SplitHostPort(authority); err != nil {
		authority = net.JoinHostPort(strings.Trim(authority, "[]"), defPort)
	}
	s.Addr = authority
	mailbox, err := url.PathUnescape(path)
	if err != nil {
		return Server{}, fmt.Errorf("%s: mailbox: %w", redact(raw), err)
	}
	s.Mailbox = mailbox
	if s.Mailbox == "" {
		s.Mailbox = "INBOX"
	}
	return s, nil
}

// redact hides the password of a URL, for error messages.
func redact(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	authority, path, hasPath := strings.Cut(rest, "/")
	i := strings.LastIndex(authority, "@")
	if i < 0 {
		return raw
	}
	if user, _, hasPass := strings.Cut(authority[:i], ":"); hasPass {
		authority = user + ":xxxxx" + authority[i:]
	}
	out := scheme + "://" + authority
	if hasPath {
		out += "/" + path
	}
	return out
}
