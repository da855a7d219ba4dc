package testkit

import (
	"testing"

	"github.com/cpam/attestd/internal/localmail"
)

// MailServers starts the in-process mail servers on loopback, closed when
// the test ends: an IMAP server with one account per entry of users (user
// name -> password), each with an empty INBOX, and an SMTP server that
// keeps what it accepts.
func MailServers(t testing.TB, users map[string]string) (*localmail.IMAPServer, *localmail.SMTPServer) {
	t.Helper()
	imapSrv, err := localmail.StartIMAP("127.0.0.1:0", users)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { imapSrv.Close() })
	smtpSrv, err := localmail.StartSMTP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtpSrv.Close() })
	return imapSrv, smtpSrv
}
