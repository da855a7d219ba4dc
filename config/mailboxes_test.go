package config

import (
	"errors"
	"strings"
	"testing"
)

const mailboxesBase = `
service: {address: attestation@cpam.example, domain: cpam.example}
trust: {authserv_ids: [mx.cpam.example]}
imap:
  address: 127.0.0.1:1143
  folders: {processed: Traite}
`

// imap.mailboxes: every entry gets the imap section's defaults, and the
// service address as its reply From; without the key, the single mailbox
// keeps the ledger key it always had (the watched folder).
func TestMailboxesDefaults(t *testing.T) {
	t.Setenv("PW_PARIS", "p")
	t.Setenv("PW_LYON", "l")
	cfg, err := Parse([]byte(mailboxesBase + `
  mailboxes:
    - {name: paris, username: paris@cpam.example, password_env: PW_PARIS, reply_from: attestation-paris@cpam.example, organisme: CPAM de Paris}
    - name: lyon
      address: 127.0.0.2:993
      tls: tls
      username: lyon@cpam.example
      password_env: PW_LYON
      mailbox: Demandes
      folders: {manual: A-voir}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Mailboxes()
	if len(got) != 2 {
		t.Fatalf("%d mailboxes, want 2", len(got))
	}
	p, l := got[0], got[1]
	if p.Name != "paris" || p.Address != "127.0.0.1:1143" || p.TLS != "none" || p.Mailbox != "INBOX" ||
		p.Folders != (FoldersConfig{"Traite", "Manual", "Quarantine"}) || p.ReplyFrom != "attestation-paris@cpam.example" || p.Organisme != "CPAM de Paris" {
		t.Errorf("paris = %+v", p)
	}
	if l.Address != "127.0.0.2:993" || l.TLS != "tls" || l.Mailbox != "Demandes" ||
		l.Folders != (FoldersConfig{"Traite", "A-voir", "Quarantine"}) || l.ReplyFrom != "attestation@cpam.example" || l.Organisme != "" {
		t.Errorf("lyon = %+v", l)
	}
	if got := cfg.ServiceAddresses(); strings.Join(got, " ") != "attestation@cpam.example attestation-paris@cpam.example" {
		t.Errorf("service addresses = %v", got)
	}

	t.Setenv("PW", "x")
	single, err := Parse([]byte(mailboxesBase + "  username: attestation@cpam.example\n  password_env: PW\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m := single.Mailboxes(); len(m) != 1 || m[0].Name != "INBOX" || m[0].Username != "attestation@cpam.example" || m[0].ReplyFrom != "attestation@cpam.example" {
		t.Errorf("single mailbox = %+v", m)
	}
}

// check-config names the entry and the key that is wrong.
func TestMailboxesCheck(t *testing.T) {
	t.Setenv("PW", "x")
	entry := func(s string) string { return mailboxesBase + "  mailboxes:\n" + s }
	for _, tc := range []struct{ yaml, key, problem string }{
		{entry("    - {name: paris, username: a@x, password_env: PW}\n    - {name: paris, username: b@x, password_env: PW}\n"),
			"imap.mailboxes[1].name", "also the name of imap.mailboxes[0]"},
		{entry("    - {name: Paris, username: a@x, password_env: PW}\n"), "imap.mailboxes[0].name", "lower-case"},
		{entry("    - {name: paris, password_env: PW}\n"), "imap.mailboxes[0].username", "login of mailbox paris"},
		{entry("    - {name: paris, username: a@x, password_env: ATTESTD_TEST_UNSET_PW}\n"), "imap.mailboxes[0].password_env", "ATTESTD_TEST_UNSET_PW is not set"},
		{entry("    - {name: paris, username: a@x}\n"), "imap.mailboxes[0].password_env", "never sit in the file"},
		{entry("    - {name: paris, username: a@x, password_env: PW, folders: {manual: INBOX}}\n"), "imap.mailboxes[0].folders", "watched mailbox itself"},
		{entry("    - {name: paris, username: a@x, password_env: PW, reply_from: 'Paris <p@x>'}\n"), "imap.mailboxes[0].reply_from", "bare e-mail address"},
		{entry("    - {name: paris, username: a@x, password_env: PW, tls: ssl}\n"), "imap.mailboxes[0].tls", "want none"},
		{entry("    - {name: paris, username: a@x, password_env: PW}\n    - {name: lyon, username: A@x, password_env: PW}\n"),
			"imap.mailboxes[1].mailbox", "watched by imap.mailboxes[0]"},
		{mailboxesBase + "  username: a@x\n  password_env: PW\n  mailboxes:\n    - {name: paris, username: a@x, password_env: PW}\n",
			"imap.username", "give each mailbox its own"},
		{entry("    - {name: paris, username: a@x, password_env: PW, oops: 1}\n"), "", "unknown key oops"},
	} {
		_, err := Parse([]byte(tc.yaml))
		var ce *Error
		if err == nil || !strings.Contains(err.Error(), tc.problem) || tc.key != "" && (!errors.As(err, &ce) || ce.Key != tc.key) {
			t.Errorf("%s: got %v, want key %s: ...%s...", tc.yaml[len(mailboxesBase):], err, tc.key, tc.problem)
		}
	}
}
