package mailenv_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"

	"github.com/cpam/attestd/internal/mailenv"
)

// These tests run against the servers of .ci/servers.sh and skip without them.

func testMessage(subject, messageID string) []byte {
	return []byte("From: Eva Dupont <eva.dupont@example.org>\r\n" +
		"To: attestation@cpam.example\r\n" +
		"Subject: " + subject + "\r\n" +
		"Message-ID: <" + messageID + ">\r\n" +
		"Date: Wed, 25 Nov 2026 09:00:00 +0100\r\n" +
		"\r\n" +
		"Bonjour, je voudrais mon attestation de droits.\r\n")
}

// sendMail sends raw over SMTP to addr, as attestd does.
func sendMail(ctx context.Context, addr, from string, to []string, raw []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.SendMail(from, to, bytes.NewReader(raw)); err != nil {
		return err
	}
	return c.Quit()
}

func TestResetIMAPLeavesAnEmptyInbox(t *testing.T) {
	env := mailenv.Require(t)
	ctx := t.Context()
	for _, box := range []string{"INBOX", "Processed", "Manual/Sub"} {
		if _, err := env.AppendIMAP(ctx, box, testMessage("reset "+box, "reset-"+strings.ReplaceAll(box, "/", ".")+"@test.example")); err != nil {
			t.Fatal(err)
		}
	}

	if err := env.ResetIMAP(ctx); err != nil {
		t.Fatal(err)
	}

	c, err := env.DialIMAP(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range boxes {
		names = append(names, b.Mailbox)
	}
	if len(names) != 1 || names[0] != "INBOX" {
		t.Errorf("after ResetIMAP, LIST shows %v, want [INBOX]", names)
	}
	sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 0 {
		t.Errorf("after ResetIMAP, INBOX holds %d messages, want 0", sel.NumMessages)
	}
}

func TestAppendIMAPStoresTheMessageAsGiven(t *testing.T) {
	env := mailenv.Require(t)
	ctx := t.Context()
	if err := env.ResetIMAP(ctx); err != nil {
		t.Fatal(err)
	}
	raw := testMessage("append", "append@test.example")
	uid, err := env.AppendIMAP(ctx, "INBOX", raw)
	if err != nil {
		t.Fatal(err)
	}

	c, err := env.DialIMAP(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	body := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{body}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || !bytes.Equal(msgs[0].FindBodySection(body), raw) {
		t.Errorf("UID %d holds %d messages / other bytes than appended", uid, len(msgs))
	}
}

func TestSMTPMessageReachesMailpit(t *testing.T) {
	env := mailenv.Require(t)
	ctx := t.Context()
	mp := env.Mailpit()
	if err := mp.DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	raw := testMessage("Demande d'attestation", "roundtrip@test.example")
	if err := sendMail(ctx, env.SMTPAddr, "eva.dupont@example.org", []string{"attestation@cpam.example"}, raw); err != nil {
		t.Fatal(err)
	}

	msgs, err := mp.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("Mailpit holds %d messages, want the 1 sent", len(msgs))
	}
	m := msgs[0]
	if m.MessageID != "roundtrip@test.example" || m.Subject != "Demande d'attestation" ||
		m.From.Address != "eva.dupont@example.org" || m.From.Name != "Eva Dupont" ||
		len(m.To) != 1 || m.To[0].Address != "attestation@cpam.example" {
		t.Errorf("Mailpit summary = %+v", m)
	}
	got, err := mp.Raw(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte("Bonjour, je voudrais mon attestation de droits.")) {
		t.Errorf("Raw(%s) lacks the body sent:\n%s", m.ID, got)
	}

	if err := mp.DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	if msgs, err := mp.Messages(ctx); err != nil || len(msgs) != 0 {
		t.Errorf("after DeleteAll: %d messages, err %v; want none", len(msgs), err)
	}
}

func TestMailpitChaosRefusesThenRecovers(t *testing.T) {
	env := mailenv.Require(t)
	ctx := t.Context()
	mp := env.Mailpit()
	if err := mp.DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := mp.SetChaos(context.Background(), mailenv.ChaosTriggers{}); err != nil {
			t.Errorf("turning chaos off: %v", err)
		}
	})

	on := mailenv.ChaosTriggers{Recipient: mailenv.ChaosTrigger{ErrorCode: 451, Probability: 100}}
	if err := mp.SetChaos(ctx, on); err != nil {
		t.Fatal(err)
	}
	got, err := mp.Chaos(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Recipient != on.Recipient || got.Sender.Probability != 0 {
		t.Errorf("Chaos() = %+v after SetChaos(%+v)", got, on)
	}
	err = sendMail(ctx, env.SMTPAddr, "eva.dupont@example.org", []string{"attestation@cpam.example"}, testMessage("chaos", "chaos-1@test.example"))
	var smtpErr *smtp.SMTPError
	if !errors.As(err, &smtpErr) || smtpErr.Code != 451 {
		t.Fatalf("send with chaos on: err = %v, want SMTP 451", err)
	}

	if err := mp.SetChaos(ctx, mailenv.ChaosTriggers{}); err != nil {
		t.Fatal(err)
	}
	if err := sendMail(ctx, env.SMTPAddr, "eva.dupont@example.org", []string{"attestation@cpam.example"}, testMessage("chaos", "chaos-2@test.example")); err != nil {
		t.Fatalf("send with chaos off: %v", err)
	}
	msgs, err := mp.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].MessageID != "chaos-2@test.example" {
		t.Errorf("Mailpit holds %+v, want only chaos-2@test.example", msgs)
	}
}

func TestAwaitReturnsOnceTheMessageArrives(t *testing.T) {
	env := mailenv.Require(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	mp := env.Mailpit()
	if err := mp.DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		errc <- sendMail(ctx, env.SMTPAddr, "eva.dupont@example.org", []string{"attestation@cpam.example"}, testMessage("await", "await@test.example"))
	}()
	msgs, err := mp.Await(ctx, func(msgs []mailenv.MailpitMessage) bool { return len(msgs) > 0 })
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if msgs[0].MessageID != "await@test.example" {
		t.Errorf("Await returned %+v", msgs)
	}
}

func TestFetchIMAPReturnsAFolderInOrder(t *testing.T) {
	env := mailenv.Require(t)
	ctx := t.Context()
	if err := env.ResetIMAP(ctx); err != nil {
		t.Fatal(err)
	}
	first, second := testMessage("one", "fetch-1@test.example"), testMessage("two", "fetch-2@test.example")
	for _, raw := range [][]byte{first, second} {
		if _, err := env.AppendIMAP(ctx, "Processed", raw); err != nil {
			t.Fatal(err)
		}
	}

	got, err := env.FetchIMAP(ctx, "Processed")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !bytes.Equal(got[0], first) || !bytes.Equal(got[1], second) {
		t.Errorf("FetchIMAP(Processed) = %d messages, want the 2 appended, in order", len(got))
	}
	if got, err := env.FetchIMAP(ctx, "NoSuchFolder"); err != nil || got != nil {
		t.Errorf("FetchIMAP(NoSuchFolder) = %d messages, %v; want none, no error", len(got), err)
	}
}
