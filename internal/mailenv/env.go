package mailenv

import (
	"os"
	"strings"
	"testing"
)

// The environment variables that .ci/servers.sh exports and [FromEnv] reads.
const (
	// EnvIMAPAddr is the Dovecot IMAP address, host:port, plaintext.
	EnvIMAPAddr = "ATTESTD_TEST_IMAP_ADDR"
	// EnvIMAPUser is the mailbox attestd watches.
	EnvIMAPUser = "ATTESTD_TEST_IMAP_USER"
	// EnvIMAPPassword is the password of EnvIMAPUser.
	EnvIMAPPassword = "ATTESTD_TEST_IMAP_PASSWORD"
	// EnvQAUser is a second mailbox, for a QA runner that reads replies (optional).
	EnvQAUser = "ATTESTD_TEST_IMAP_QA_USER"
	// EnvQAPassword is the password of EnvQAUser (optional).
	EnvQAPassword = "ATTESTD_TEST_IMAP_QA_PASSWORD"
	// EnvSMTPAddr is the Mailpit SMTP address, host:port, plaintext.
	EnvSMTPAddr = "ATTESTD_TEST_SMTP_ADDR"
	// EnvMailpitAPI is the base URL of Mailpit's HTTP API, e.g. http://127.0.0.1:18025.
	EnvMailpitAPI = "ATTESTD_TEST_MAILPIT_API"
)

// requiredVars lists the variables without which FromEnv reports no servers.
func requiredVars() []string {
	return []string{EnvIMAPAddr, EnvIMAPUser, EnvIMAPPassword, EnvSMTPAddr, EnvMailpitAPI}
}

// Env says where the test mail servers are and how to log in.
type Env struct {
	// IMAPAddr is the IMAP server's host:port (no TLS).
	IMAPAddr string
	// IMAPUser and IMAPPassword log in to the mailbox attestd watches.
	IMAPUser, IMAPPassword string
	// QAUser and QAPassword log in to the second mailbox; empty when not set.
	// To use it with the methods of Env, copy the Env and set IMAPUser and
	// IMAPPassword from them.
	QAUser, QAPassword string
	// SMTPAddr is the SMTP server's host:port (no TLS, authentication optional).
	SMTPAddr string
	// MailpitAPI is the base URL of Mailpit's HTTP API, without a trailing slash.
	MailpitAPI string
}

// FromEnv reads the servers' location from the environment. It reports false,
// and returns nil, when any of EnvIMAPAddr, EnvIMAPUser, EnvIMAPPassword,
// EnvSMTPAddr or EnvMailpitAPI is unset or empty.
func FromEnv() (*Env, bool) {
	if len(MissingVars()) > 0 {
		return nil, false
	}
	return &Env{
		IMAPAddr:     os.Getenv(EnvIMAPAddr),
		IMAPUser:     os.Getenv(EnvIMAPUser),
		IMAPPassword: os.Getenv(EnvIMAPPassword),
		QAUser:       os.Getenv(EnvQAUser),
		QAPassword:   os.Getenv(EnvQAPassword),
		SMTPAddr:     os.Getenv(EnvSMTPAddr),
		MailpitAPI:   strings.TrimRight(os.Getenv(EnvMailpitAPI), "/"),
	}, true
}

// MissingVars returns the names of the required variables that are unset or
// empty, in a fixed order; none when the servers are configured.
func MissingVars() []string {
	var missing []string
	for _, name := range requiredVars() {
		if os.Getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	return missing
}

// Require returns the servers' location, or skips the test, naming the
// variables that are missing and how to set them.
func Require(tb testing.TB) *Env {
	tb.Helper()
	env, ok := FromEnv()
	if !ok {
		tb.Skipf("no test mail servers: %s not set; start them with `eval \"$(.ci/servers.sh start DIR)\"`",
			strings.Join(MissingVars(), ", "))
	}
	return env
}

// Mailpit returns a client for the Mailpit API at e.MailpitAPI, using
// http.DefaultClient.
func (e *Env) Mailpit() *Mailpit {
	return &Mailpit{API: e.MailpitAPI}
}
