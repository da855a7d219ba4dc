package daemon

import (
	"context"
	"fmt"

	"github.com/cpam/attestd/inbox"
	"github.com/cpam/attestd/queue"
	"github.com/cpam/attestd/store"
)

// Retry decides again a message filed in Manual or Quarantine, for an
// operator of the console (issue 13): its claim is reopened in the ledger
// (with the audit entry), then the message is moved from its folder back
// to the watched mailbox, where the daemon takes it as new. who names the
// operator for the audit log.
//
// The claim is reopened before the move, so that the daemon never sees the
// message back while its claim still says done (it would file it again as
// a copy). If the move fails, the claim stays open and the message in its
// folder: the error says so, and a second Retry is refused until the
// message is moved by hand.
func (d *Daemon) Retry(ctx context.Context, claimID int64, who, comment string) error {
	e, _, err := d.store.EntryByID(ctx, claimID)
	if err != nil {
		return err
	}
	b := d.intakeFor(e.Key.Mailbox)
	f := b.box.Folders
	folder := e.Folder
	err = d.store.ReopenClaim(ctx, claimID, []string{f.Manual, f.Quarantine}, store.AuditEntry{At: d.now(), Who: who, Comment: comment})
	if err != nil {
		return err
	}
	if err := b.moveBack(ctx, folder, e.MessageID); err != nil {
		return fmt.Errorf("the claim was reopened but the message could not be moved back to %s: %w", b.box.Mailbox, err)
	}
	signal(b.wake)
	return nil
}

// moveBack moves the message with that ledger Message-ID from folder to the
// watched mailbox.
func (b *intake) moveBack(ctx context.Context, folder, messageID string) error {
	d := b.d
	cfg := b.imap
	cfg.Mailbox = folder
	s, err := inbox.OpenSession(ctx, &cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	uids, err := s.UIDs()
	if err != nil {
		return err
	}
	for len(uids) > 0 {
		n := min(batchSize, len(uids))
		fetched, err := s.Fetch(uids[:n], d.cfg.Limits.MaxMessageBytes)
		if err != nil {
			return err
		}
		uids = uids[n:]
		for _, m := range fetched {
			if m.Raw != nil && queue.MessageID(m.Raw, store.MessageKey{}) == messageID {
				return s.Move([]uint32{m.UID}, b.box.Mailbox)
			}
		}
	}
	return fmt.Errorf("no message with that Message-ID in %s", folder)
}
