package daemon

import (
	"context"

	"github.com/cpam/attestd/store"
)

// resume closes, at the start of a work session, the ledger entries that a
// crash or a lost connection left open although their message was filed:
// the MOVE went through but MarkDone did not. present are the UIDs now in
// the mailbox; what is still there is resumed by the sweep itself, what is
// under an older UIDVALIDITY may be there under a new UID and is left to
// the sweep too.
func (w *worker) resume(ctx context.Context, present map[uint32]bool) {
	d := w.d
	open, err := d.store.Unfinished(ctx, d.cfg.IMAP.Mailbox)
	if err != nil {
		d.log.Warn("ledger: cannot list unfinished messages; they are resumed when seen", "err", err)
		return
	}
	for _, c := range open {
		if c.Key.UIDValidity != w.s.UIDValidity() || present[c.Key.UID] {
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
