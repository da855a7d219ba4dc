package acceptance_test

import (
	"strings"
	"testing"

	"github.com/cpam/attestd/internal/acceptance"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestParseIMAPURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		vars map[string]string
		want acceptance.Server
	}{
		{"imap://attestation@cpam.example:secret@127.0.0.1:10143/INBOX", nil,
			acceptance.Server{Addr: "127.0.0.1:10143", Username: "attestation@cpam.example", Password: "secret", Mailbox: "INBOX"}},
		{"imap://attestation%40cpam.example:p%2Fw@mail.example", nil,
			acceptance.Server{Addr: "mail.example:143", Username: "attestation@cpam.example", Password: "p/w", Mailbox: "INBOX"}},
		{"imaps://qa@cpam.example@mail.example/Replies%2F2026", map[string]string{acceptance.EnvRepliesPassword: "from-env"},
			acceptance.Server{Addr: "mail.example:993", TLS: true, Username: "qa@cpam.example", Password: "from-env", Mailbox: "Replies/2026"}},
		{"IMAP://u:p@[::1]:1143/", nil,
			acceptance.Server{Addr: "[::1]:1143", Username: "u", Password: "p", Mailbox: "INBOX"}},
	} {
		got, err := acceptance.ParseIMAPURL(tc.url, acceptance.EnvRepliesPassword, env(tc.vars))
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.url, got, tc.want)
		}
	}
}

func TestParseIMAPURLSaysWhatIsMissingWithoutShowingThePassword(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"imap://attestation@cpam.example@127.0.0.1:10143/INBOX", acceptance.EnvIMAPPassword},
		{"imap://127.0.0.1:10143/INBOX", "no user"},
		{"http://u:topsecret@127.0.0.1/", "imap:// or imaps://"},
		{"imap://u:topsecret@/INBOX", "no host"},
	} {
		_, err := acceptance.ParseIMAPURL(tc.url, acceptance.EnvIMAPPassword, env(nil))
		if err == nil {
			t.Errorf("%s: accepted", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not say %q", tc.url, err, tc.want)
		}
		if strings.Contains(err.Error(), "topsecret") {
			t.Errorf("%s: error shows the password: %q", tc.url, err)
		}
	}
}

func TestParseSMTPURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want acceptance.Server
	}{
		{"smtp://127.0.0.1:10025", acceptance.Server{Addr: "127.0.0.1:10025"}},
		{"smtp+starttls://qa@cpam.example@mx.example", acceptance.Server{Addr: "mx.example:587", StartTLS: true, Username: "qa@cpam.example", Password: "env-pw"}},
		{"smtps://u:p@mx.example", acceptance.Server{Addr: "mx.example:465", TLS: true, Username: "u", Password: "p"}},
	} {
		got, err := acceptance.ParseSMTPURL(tc.url, acceptance.EnvSMTPPassword, env(map[string]string{acceptance.EnvSMTPPassword: "env-pw"}))
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.url, got, tc.want)
		}
	}
	if _, err := acceptance.ParseSMTPURL("smtp://u@mx.example", acceptance.EnvSMTPPassword, env(nil)); err == nil ||
		!strings.Contains(err.Error(), acceptance.EnvSMTPPassword) {
		t.Errorf("a user without password: %v", err)
	}
}

func TestParseMailpitURL(t *testing.T) {
	got, err := acceptance.ParseMailpitURL("mailpit+http://127.0.0.1:18025/")
	if err != nil || got != "http://127.0.0.1:18025" {
		t.Errorf("ParseMailpitURL = %q, %v", got, err)
	}
	for _, bad := range []string{"http://127.0.0.1:18025", "mailpit+ftp://x", "mailpit+http://"} {
		if _, err := acceptance.ParseMailpitURL(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
