package testkit

import (
	"testing"

	"github.com/cpam/attestd/internal/localmail"
)

// MailServers starts the in-process mail servers on loopback, IMAP (with
// the accounts users) and SMTP, both closed when the test ends.
func MailServers(t testing.TB, users map[string]string) (*localmail.IMAPServer, *localmail.SMTPServer) {
	t.Helper()
	return IMAP(t, users), SMTP(t)
}

// IMAP starts the in-process IMAP server on loopback with one account per
// entry of users (user name -> password), each with an empty INBOX,
// closed when the test ends.
func IMAP(t testing.TB, users map[string]string) *localmail.IMAPServer {
	t.Helper()
	s, err := localmail.StartIMAP("127.0.0.1:0", users)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// SMTP starts the in-process SMTP server on loopback, which keeps every
// message it accepts, closed when the test ends.
func SMTP(t testing.TB) *localmail.SMTPServer {
	t.Helper()
	s, err := localmail.StartSMTP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
