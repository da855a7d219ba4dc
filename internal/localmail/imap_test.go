package localmail_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/cpam/attestd/internal/localmail"
	"github.com/cpam/attestd/internal/testkit"
)

const (
	imapUser     = "attestation@cpam.example"
	imapPassword = "secret"
)

func startIMAP(t *testing.T) *localmail.IMAPServer {
	t.Helper()
	return testkit.IMAP(t, map[string]string{imapUser: imapPassword})
}

func request(n int) []byte {
	return fmt.Appendf(nil, "From: <eva@example.org>\r\nTo: <%s>\r\nSubject: Demande %d\r\nMessage-ID: <req-%d@example.org>\r\n\r\nBonjour, une attestation de droits svp.\r\n", imapUser, n, n)
}

func login(t *testing.T, s *localmail.IMAPServer, opts *imapclient.Options) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(s.Addr(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Login(imapUser, imapPassword).Wait(); err != nil {
		t.Fatalf("login: %v", err)
	}
	return c
}

func fetchBody(t *testing.T, c *imapclient.Client, uid uint32) []byte {
	t.Helper()
	section := &imap.FetchItemBodySection{Peek: true}
	bufs, err := c.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		t.Fatalf("UID FETCH %d: %v", uid, err)
	}
	if len(bufs) != 1 || uint32(bufs[0].UID) != uid {
		t.Fatalf("UID FETCH %d returned %d messages", uid, len(bufs))
	}
	return bufs[0].FindBodySection(section)
}

func TestIMAPAppendSelectFetch(t *testing.T) {
	s := startIMAP(t)
	uid, err := s.Append(imapUser, "INBOX", request(1))
	if err != nil {
		t.Fatal(err)
	}
	c := login(t, s, nil)
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 1 || sel.UIDValidity == 0 {
		t.Errorf("SELECT INBOX: %d messages, UIDVALIDITY %d", sel.NumMessages, sel.UIDValidity)
	}
	if got := fetchBody(t, c, uid); !bytes.Equal(got, request(1)) {
		t.Errorf("fetched %q, want the appended message", got)
	}
	if _, err := s.Append("nobody", "INBOX", request(2)); err == nil {
		t.Error("Append for an unknown user succeeded")
	}
	if _, err := s.Append(imapUser, "Missing", request(2)); err == nil {
		t.Error("Append to a missing mailbox succeeded")
	}
}

func TestIMAPRefusesWrongPassword(t *testing.T) {
	s := startIMAP(t)
	c, err := imapclient.DialInsecure(s.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(imapUser, "wrong").Wait(); err == nil {
		t.Error("login with a wrong password succeeded")
	}
}

func TestIMAPIdleSeesNewMail(t *testing.T) {
	s := startIMAP(t)
	if _, err := s.Append(imapUser, "INBOX", request(1)); err != nil {
		t.Fatal(err)
	}
	// The handler runs on the client's reader goroutine: it must not block,
	// so it only hands the count over to a buffered channel.
	exists := make(chan uint32, 16)
	c := login(t, s, &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(data *imapclient.UnilateralDataMailbox) {
			if data.NumMessages != nil {
				select {
				case exists <- *data.NumMessages:
				default:
				}
			}
		},
	}})
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(imapUser, "INBOX", request(2)); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-exists:
		if n != 2 {
			t.Errorf("EXISTS %d, want 2", n)
		}
	case <-ctxFor(t).Done():
		t.Fatal("no EXISTS during IDLE after an Append")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestIMAPMoveToCreatedFolder(t *testing.T) {
	s := startIMAP(t)
	uid, err := s.Append(imapUser, "INBOX", request(1))
	if err != nil {
		t.Fatal(err)
	}
	c := login(t, s, nil)
	if err := c.Create("Processed", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.UIDSetNum(imap.UID(uid)), "Processed").Wait(); err != nil {
		t.Fatalf("UID MOVE: %v", err)
	}
	inbox, err := s.Mailbox(imapUser, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	processed, err := s.Mailbox(imapUser, "Processed")
	if err != nil {
		t.Fatal(err)
	}
	if len(inbox.Messages) != 0 || len(processed.Messages) != 1 || !bytes.Equal(processed.Messages[0].Raw, request(1)) {
		t.Errorf("after MOVE: INBOX %d messages, Processed %d", len(inbox.Messages), len(processed.Messages))
	}
}

func TestIMAPRestartKeepsMail(t *testing.T) {
	s := startIMAP(t)
	addr := s.Addr()
	uid, err := s.Append(imapUser, "INBOX", request(1))
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.Mailbox(imapUser, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if c, err := imapclient.DialInsecure(addr, nil); err == nil {
		err = c.Login(imapUser, imapPassword).Wait()
		c.Close()
		if err == nil {
			t.Fatal("a stopped server let a client log in")
		}
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if s.Addr() != addr {
		t.Errorf("restarted on %s, want %s", s.Addr(), addr)
	}
	c := login(t, s, nil)
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.UIDValidity != before.UIDValidity {
		t.Errorf("UIDVALIDITY changed across a restart: %d -> %d", before.UIDValidity, sel.UIDValidity)
	}
	if got := fetchBody(t, c, uid); !bytes.Equal(got, request(1)) {
		t.Error("the message did not survive the restart")
	}
}

func TestIMAPResetUIDValidity(t *testing.T) {
	s := startIMAP(t)
	for i := range 2 {
		if _, err := s.Append(imapUser, "INBOX", request(i)); err != nil {
			t.Fatal(err)
		}
	}
	c := login(t, s, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}, Silent: true}
	if err := c.Store(imap.UIDSetNum(1), store, nil).Close(); err != nil {
		t.Fatal(err)
	}
	before, err := s.Mailbox(imapUser, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	validity, err := s.ResetUIDValidity(imapUser, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	after, err := s.Mailbox(imapUser, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if validity == before.UIDValidity || after.UIDValidity != validity {
		t.Errorf("UIDVALIDITY %d -> %d (reported %d): want a new one", before.UIDValidity, after.UIDValidity, validity)
	}
	if len(after.Messages) != len(before.Messages) {
		t.Fatalf("%d messages after the reset, want %d", len(after.Messages), len(before.Messages))
	}
	for i := range after.Messages {
		b, a := before.Messages[i], after.Messages[i]
		if !bytes.Equal(a.Raw, b.Raw) || a.UID != b.UID || !a.InternalDate.Equal(b.InternalDate) {
			t.Errorf("message %d changed: UID %d -> %d", i, b.UID, a.UID)
		}
	}
	if !slices.Contains(after.Messages[0].Flags, imap.FlagSeen) || slices.Contains(after.Messages[1].Flags, imap.FlagSeen) {
		t.Errorf("flags not kept: %v, %v", after.Messages[0].Flags, after.Messages[1].Flags)
	}
}
