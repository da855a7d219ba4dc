package localmail

import (
	"bytes"
	"fmt"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// MailboxSnapshot is what a mailbox holds at one moment, for assertions.
type MailboxSnapshot struct {
	Name        string
	UIDValidity uint32
	UIDNext     uint32
	Messages    []Message // by UID
}

// Message is one message of a MailboxSnapshot.
type Message struct {
	UID          uint32
	Flags        []imap.Flag
	InternalDate time.Time
	Raw          []byte
}

// Mailbox lists the messages of a mailbox of user with their UIDs, flags and
// content. It reads through IMAP itself (EXAMINE, so no flag changes), so
// the server must be running.
func (s *IMAPServer) Mailbox(user, name string) (*MailboxSnapshot, error) {
	password, ok := s.passwords[user]
	if !ok {
		return nil, fmt.Errorf("localmail imap: no user %q", user)
	}
	c, err := imapclient.DialInsecure(s.Addr(), nil)
	if err != nil {
		return nil, fmt.Errorf("localmail imap: connecting to read %s: %w", name, err)
	}
	defer c.Close()
	if err := c.Login(user, password).Wait(); err != nil {
		return nil, fmt.Errorf("localmail imap: logging in as %s: %w", user, err)
	}
	sel, err := c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, fmt.Errorf("localmail imap: examining %s of %s: %w", name, user, err)
	}
	snap := &MailboxSnapshot{Name: name, UIDValidity: sel.UIDValidity, UIDNext: uint32(sel.UIDNext)}
	if sel.NumMessages > 0 {
		body := &imap.FetchItemBodySection{Peek: true}
		bufs, err := c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.FetchOptions{
			UID: true, Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{body},
		}).Collect()
		if err != nil {
			return nil, fmt.Errorf("localmail imap: fetching %s of %s: %w", name, user, err)
		}
		for _, b := range bufs {
			snap.Messages = append(snap.Messages, Message{
				UID: uint32(b.UID), Flags: b.Flags, InternalDate: b.InternalDate, Raw: b.FindBodySection(body),
			})
		}
	}
	_ = c.Logout().Wait()
	return snap, nil
}

// ResetUIDValidity recreates a mailbox of user with the same messages (same
// content, flags and dates) under a new UIDVALIDITY, as a server does after
// losing its index. It returns the new UIDVALIDITY. The server must be
// running. Sessions that had the mailbox selected keep the old one until
// they select it again: Stop and Start the server to make clients notice.
func (s *IMAPServer) ResetUIDValidity(user, name string) (uint32, error) {
	u, err := s.user(user)
	if err != nil {
		return 0, err
	}
	snap, err := s.Mailbox(user, name)
	if err != nil {
		return 0, err
	}
	if err := u.Delete(name); err != nil {
		return 0, fmt.Errorf("localmail imap: deleting %s of %s: %w", name, user, err)
	}
	if err := u.Create(name, nil); err != nil {
		return 0, fmt.Errorf("localmail imap: recreating %s of %s: %w", name, user, err)
	}
	for _, m := range snap.Messages {
		var flags []imap.Flag
		for _, f := range m.Flags {
			if f != "\\Recent" {
				flags = append(flags, f)
			}
		}
		opts := &imap.AppendOptions{Flags: flags, Time: m.InternalDate}
		if _, err := u.Append(name, bytes.NewReader(m.Raw), opts); err != nil {
			return 0, fmt.Errorf("localmail imap: re-appending to %s of %s: %w", name, user, err)
		}
	}
	st, err := u.Status(name, &imap.StatusOptions{UIDValidity: true})
	if err != nil {
		return 0, fmt.Errorf("localmail imap: reading UIDVALIDITY of %s: %w", name, err)
	}
	return st.UIDValidity, nil
}
