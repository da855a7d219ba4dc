package queue

import (
	"context"

	"github.com/cpam/attestd/store"
)

// Resume looks at the ledger's open entries for mailbox at the start of a
// work session on it (under uidValidity). It closes those that a crash or
// a lost connection left open although their message was filed (the MOVE
// went through, MarkDone did not), and returns as suspects the UIDs still
// in the mailbox that were claimed but never decided. present are the UIDs
// now in the mailbox; the sweep itself resumes what is there. What is
// under an older UIDVALIDITY may be there under a new UID and is left to
// the sweep too.
func (q *Queue) Resume(ctx context.Context, mailbox string, uidValidity uint32, present map[uint32]bool) map[uint32]bool {
	suspects := make(map[uint32]bool)
	open, err := q.store.Unfinished(ctx, mailbox)
	if err != nil {
		q.log.Warn("ledger: cannot list unfinished messages; they are resumed when seen", "err", err)
		return suspects
	}
	for _, c := range open {
		if c.Key.UIDValidity != uidValidity {
			continue
		}
		if present[c.Key.UID] {
			if c.State == store.StateClaimed {
				suspects[c.Key.UID] = true
			}
			continue
		}
		if c.State == store.StateClaimed {
			q.log.Warn("ledger: a message claimed but never decided is no longer in the mailbox: it was not answered; look for it by its claim",
				"claim", c.ID, "uid", c.Key.UID)
			continue
		}
		item, err := q.store.OutboxStateForClaim(ctx, c.ID)
		if err != nil {
			continue
		}
		if item != nil && item.State == store.OutboxPending {
			// Its job sends it (given here if a crash came before), and
			// the next session closes the claim.
			if err := q.ensureJob(ctx, item.ID); err != nil {
				q.log.Warn("outbox: a pending reply whose message was filed has no job yet; it gets one at the next session or start",
					"outbox_id", item.ID, "err", err)
			}
			continue
		}
		if err := q.store.MarkDone(ctx, c.ID, q.now()); err != nil {
			q.log.Warn("ledger: cannot close a filed message's claim", "claim", c.ID, "err", err)
			continue
		}
		q.log.Info("ledger: claim closed on resumption: its message had been filed", "claim", c.ID, "uid", c.Key.UID)
	}
	return suspects
}
