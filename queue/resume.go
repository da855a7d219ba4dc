package daemon

import (
	"context"

	"github.com/cpam/attestd/store"
)

// resume looks at the ledger's open entries at the start of a work
// session. It closes those that a crash or a lost connection left open
// although their message was filed (the MOVE went through, MarkDone did
// not), and marks as suspects the messages still in the mailbox that were
// claimed but never decided. present are the UIDs now in the mailbox; the
// sweep itself resumes what is there. What is under an older UIDVALIDITY
// may be there under a new UID and is left to the sweep too.
func (w *worker) resume(ctx context.Context, present map[uint32]bool) {
	d := w.d
	open, err := d.store.Unfinished(ctx, d.cfg.IMAP.Mailbox)
	if err != nil {
		d.log.Warn("ledger: cannot list unfinished messages; they are resumed when seen", "err", err)
		return
	}
	for _, c := range open {
		if c.Key.UIDValidity != w.s.UIDValidity() {
			continue
		}
		if present[c.Key.UID] {
			if c.State == store.StateClaimed {
				w.suspects[c.Key.UID] = true
			}
			continue
		}
		if c.State == store.StateClaimed {
			d.log.Warn("ledger: a message claimed but never decided is no longer in the mailbox: it was not answered; look for it by its claim",
				"claim", c.ID, "uid", c.Key.UID)
			continue
		}
		item, err := d.store.OutboxForClaim(ctx, c.ID)
		if err != nil || item != nil && item.State == store.OutboxPending {
			continue // the outbox job sends it; the next session closes it
		}
		if err := d.store.MarkDone(ctx, c.ID, d.now()); err != nil {
			d.log.Warn("ledger: cannot close a filed message's claim", "claim", c.ID, "err", err)
			continue
		}
		d.log.Info("ledger: claim closed on resumption: its message had been filed", "claim", c.ID, "uid", c.Key.UID)
	}
}
