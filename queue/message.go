package queue

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-message/textproto"

	"github.com/cpam/attestd/identity"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
)

// Handled is what became of one message.
type Handled struct {
	// ClaimID is the message's claim; 0 when it was not claimed (or is a
	// copy of a message already handled): no claim to close.
	ClaimID int64
	// Folder is where the message goes now; "": it stays in the mailbox,
	// to be looked at again (ClaimID 0: at the next sweep; otherwise once
	// its reply is settled, see Settled).
	Folder    string
	MessageID string
	Outcome   rules.Outcome
	Reference string
	ReplyTo   string // "" when no reply went out
	Channel   identity.Channel
	// Detail says why, when the outcome alone does not (suppressed,
	// rejected, unverified): never personal data.
	Detail string
}

// Handle takes one message through claim, decision, storage and delivery
// of its reply. raw is the message, nil when over the size limit. A
// message that cannot be decided now (internal error) stays in the mailbox
// and is tried again at the next sweep, until its attempts run out.
func (q *Queue) Handle(ctx context.Context, key store.MessageKey, raw []byte) Handled {
	msgID := MessageID(raw, key)
	c, err := q.store.Claim(ctx, key, msgID, raw)
	if err != nil {
		q.log.Warn("ledger: cannot claim message, will retry", "uid", key.UID, "err", err)
		return Handled{}
	}
	if c.Duplicate && c.State == store.StateDone {
		q.log.Info("message already handled under another UID: filed without a second reply", "uid", key.UID, "claim", c.ID)
		return Handled{Folder: c.Folder, MessageID: c.MessageID, Outcome: rules.Suppressed,
			Detail: "copy of a message already handled"}
	}
	if !q.flight.startClaim(c.ID) {
		// Another copy of this message is being handled right now; this
		// one is looked at again at the next sweep.
		return Handled{}
	}
	defer q.flight.endClaim(c.ID)
	if c.Duplicate {
		// Its first copy is gone (a UIDVALIDITY reset) or not handled yet:
		// this one carries the message from where the ledger left it, so
		// it is neither dropped unanswered nor answered twice.
		q.log.Info("message seen again under another key (UIDVALIDITY reset or a copy): its handling goes on here",
			"uid", key.UID, "claim", c.ID, "state", c.State)
	}
	switch c.State {
	case store.StateDone:
		return filed(c, nil)
	case store.StateDecided:
		return q.deliverDecided(ctx, c)
	}
	v, ok := q.decide(ctx, key.Mailbox, c, raw, msgID)
	if !ok {
		return Handled{}
	}
	if c.State != store.StateDecided {
		// Decided elsewhere meanwhile (decide recorded nothing): read it.
		if c, err = q.store.Claim(ctx, key, msgID, nil); err != nil {
			return Handled{}
		}
	}
	h := q.deliverDecided(ctx, c)
	h.Channel, h.Detail = v.Channel, v.Detail
	return h
}

// decide has claim c decided (or given up once its attempts ran out) and
// records the verdict with its reply; false when that could not be done
// now.
func (q *Queue) decide(ctx context.Context, mailbox string, c *store.Claim, raw []byte, msgID string) (Verdict, bool) {
	now := q.now()
	var v Verdict
	if c.Attempts > q.maxAttempts {
		v = q.decider.GiveUp(mailbox, raw, msgID, now)
	} else {
		var err error
		if v, err = q.decideSafely(ctx, mailbox, raw, msgID, now); err != nil {
			q.log.Warn("cannot decide message now, will retry", "uid", c.Key.UID, "attempt", c.Attempts, "err", err)
			return v, false
		}
	}
	dec := store.Decision{Outcome: v.Outcome, Folder: v.Folder, CompteID: v.CompteID, Reference: v.Reference,
		ReplyTo: v.ReplyTo, Generic: v.Generic, Reply: v.Reply, Channel: string(v.Channel), Detail: v.Detail,
		Sender: q.sender}
	if v.Reply == nil {
		dec.ReplyTo = ""
	}
	err := q.store.RecordDecision(ctx, c.ID, dec, now)
	if err != nil && v.Release != nil {
		v.Release() // not recorded now: its place under the rate limit waits for no one
	}
	if errors.Is(err, store.ErrLeaseLost) {
		q.log.Info("mailbox lease lost before the decision was recorded: the new holder decides", "uid", c.Key.UID, "claim", c.ID)
		return v, false
	}
	if err != nil && !errors.Is(err, store.ErrAlreadyDecided) {
		q.log.Warn("ledger: cannot record the decision, will retry", "uid", c.Key.UID, "err", err)
		return v, false
	}
	if err == nil {
		// Recorded: c becomes what was just written, without reading it
		// back (a write transaction per message).
		c.State, c.Outcome, c.Folder, c.CompteID, c.Reference = store.StateDecided, dec.Outcome, dec.Folder, dec.CompteID, dec.Reference
	}
	return v, true
}

// decideSafely is Decider.Decide with a panic turned into an error: the
// message's attempt failed, it is tried again (and given up in the end).
func (q *Queue) decideSafely(ctx context.Context, mailbox string, raw []byte, msgID string, now time.Time) (v Verdict, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic while deciding: %v", r)
		}
	}()
	return q.decider.Decide(ctx, mailbox, raw, msgID, now)
}

// deliverDecided delivers the stored reply of a decided message, if any
// and not yet out, and says where the message goes. A reply that has
// failed before is left to its job (job.go), which the retry's record
// gave it. A reply this attempt leaves pending without such a record is
// given its job; when that cannot be done now, the message is left for
// the next sweep (no ClaimID), which tries again.
func (q *Queue) deliverDecided(ctx context.Context, c *store.Claim) Handled {
	item, err := q.store.OutboxForClaim(ctx, c.ID)
	if err != nil {
		return Handled{ClaimID: c.ID}
	}
	if item != nil && item.State == store.OutboxPending {
		if item.Attempts > 0 {
			return Handled{ClaimID: c.ID} // its job retries
		}
		if item.State, err = q.deliver(ctx, item); item.State == store.OutboxPending {
			if errors.Is(err, errRetryRecorded) {
				return Handled{ClaimID: c.ID}
			}
			if err := q.ensureJob(ctx, item.ID); err != nil {
				q.log.Warn("outbox: a pending reply has no job yet; its message is looked at again at the next sweep",
					"outbox_id", item.ID, "err", err)
				return Handled{}
			}
			return Handled{ClaimID: c.ID}
		}
	}
	return filed(c, item)
}

// ensureJob gives pending reply id its job unless it has one (job.go).
func (q *Queue) ensureJob(ctx context.Context, id int64) error {
	if q.jobs == nil {
		return nil
	}
	return q.jobs.ensure(ctx, id)
}

// Settled looks at a message left in the mailbox while its reply was
// pending (Handle returned its ClaimID without a folder): true and where
// it goes once the reply is sent or failed for good.
func (q *Queue) Settled(ctx context.Context, key store.MessageKey, claimID int64) (Handled, bool) {
	item, err := q.store.OutboxStateForClaim(ctx, claimID)
	if err != nil || item == nil || item.State == store.OutboxPending {
		return Handled{}, false
	}
	c, err := q.store.Claim(ctx, key, "", nil)
	if err != nil {
		return Handled{}, false
	}
	return filed(c, item), true
}

// filed is what became of a decided message about to be filed.
func filed(c *store.Claim, item *store.OutboxItem) Handled {
	h := Handled{ClaimID: c.ID, Folder: c.Folder, MessageID: c.MessageID, Outcome: c.Outcome, Reference: c.Reference}
	if item != nil && item.State == store.OutboxSent && len(item.To) > 0 {
		h.ReplyTo = item.To[0]
	}
	return h
}

// Filed closes the claims of messages moved to their folders, the last
// step, in one transaction.
func (q *Queue) Filed(ctx context.Context, claimIDs ...int64) {
	if len(claimIDs) == 0 {
		return
	}
	if err := q.store.MarkDoneAll(ctx, claimIDs, q.now()); err != nil && !errors.Is(err, store.ErrWrongState) {
		q.log.Warn("ledger: messages filed but not every claim closed; a restart closes them", "claims", len(claimIDs), "err", err)
	}
}

// MessageID is the ledger's second key of the message raw found at key:
// its Message-ID, read from the header only, or without one a digest of
// the whole message ("oversize:..." when raw is nil, over the size limit).
func MessageID(raw []byte, key store.MessageKey) string {
	if raw == nil {
		return "oversize:" + key.Mailbox + ":" + itoa(key.UIDValidity) + ":" + itoa(key.UID)
	}
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err == nil {
		id := strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
		if id != "" && !strings.ContainsAny(id, " \r\n") {
			return id
		}
	}
	return store.MessageDigest(raw)
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }
