package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cpam/attestd/outbox"
	"github.com/cpam/attestd/store"
)

// Deliver makes one attempt at a stored reply and records what happened,
// unless another goroutine is delivering it or it was settled meanwhile
// (it is read again first). It returns the reply's state afterwards:
// store.OutboxPending while it waits (for a retry, or for the goroutine
// that has it), store.OutboxSent or store.OutboxPermanent.
//
// SMTP has no way to ask the relay afterwards whether it took a reply.
// With a sent journal (outbox.journal, see journal) the reply is noted the
// instant its final dot is out, and a restart records it instead of
// sending it again: it goes out twice only if the process dies between
// those two writes. Without one, the window is the store write of
// MarkSent, which comes right after the hand-over and is retried at once.
// Either way a reply whose acceptance could not be recorded is never
// handed over again by this process, only recorded.
func (q *Queue) Deliver(ctx context.Context, it *store.OutboxItem) string {
	state, _ := q.deliver(ctx, it)
	return state
}

// errBusy: another goroutine of this process is delivering the reply.
var errBusy = errors.New("the reply is being sent by another goroutine")

// errWaitSender: another node's run may have handed the reply to the relay
// and not come back yet to read its sent journal (store.TakeSend).
var errWaitSender = errors.New("the reply waits for the replica that was sending it to start again and read its sent journal")

// errRetryRecorded wraps a temporary failure whose retry the store
// recorded: the reply has its job (the retry's transaction gave it one).
var errRetryRecorded = errors.New("retry recorded")

// takeSend makes this run the reply's sender before it is handed over:
// nil when it may go now. A reply marked by this very run needs nothing.
// Another node's mark holds it until that node has started again and read
// its sent journal (which records the reply if its dot went out), or for
// at most senderWait: a node that does not come back.
func (q *Queue) takeSend(ctx context.Context, it *store.OutboxItem) error {
	if q.senders == nil || it.Sender == q.sender {
		return nil
	}
	taken, err := q.senders.TakeSend(ctx, it.ID, q.sender, q.senderWait)
	switch {
	case err != nil:
		q.log.Warn("outbox: cannot take the reply to send it, will retry", "outbox_id", it.ID, "err", err)
		return err
	case taken == store.NotTaken:
		q.log.Debug("outbox: the reply waits for the replica that was sending it", "outbox_id", it.ID, "node", it.Sender.Node)
		return errWaitSender
	case taken == store.TakenReplayed:
		q.log.Info("outbox: a reply another replica was sending when it stopped is sent here: that replica has read its sent journal since",
			"outbox_id", it.ID, "node", it.Sender.Node)
	case taken == store.TakenExpired:
		q.log.Warn("outbox: a reply another replica was sending is sent here after outbox.sender_wait: that replica has not come back; if it had handed the reply over, the recipient gets it twice",
			"outbox_id", it.ID, "node", it.Sender.Node)
	}
	return nil
}

// deliver is Deliver, and says why a reply is still pending: errBusy, the
// temporary failure (wrapped in errRetryRecorded once its retry is
// recorded), or the store's error; nil otherwise.
func (q *Queue) deliver(ctx context.Context, it *store.OutboxItem) (string, error) {
	if !q.flight.startSend(it.ID) {
		return store.OutboxPending, errBusy
	}
	defer q.flight.endSend(it.ID)
	// Read again, without the content it holds: another replica may have
	// settled it since.
	cur, err := q.store.OutboxStateForClaim(ctx, it.ClaimID)
	switch {
	case err != nil:
		q.log.Warn("outbox: cannot read the reply, will retry", "outbox_id", it.ID, "err", err)
		return store.OutboxPending, err
	case cur == nil || cur.ID != it.ID:
		return store.OutboxPending, errors.New("outbox: not the claim's reply") // a claim has one reply: not reached
	case cur.State != store.OutboxPending:
		return cur.State, nil
	}
	if cur.Raw = it.Raw; cur.Raw == nil {
		full, err := q.store.OutboxByID(ctx, cur.ID)
		if err != nil {
			q.log.Warn("outbox: cannot read the reply, will retry", "outbox_id", it.ID, "err", err)
			return store.OutboxPending, err
		}
		cur.Raw = full.Raw
	}
	now := q.now()
	if q.flight.isUnrecorded(cur.ID) || q.handedElsewhere(ctx, cur.ID) {
		return q.recordSent(ctx, cur.ID)
	}
	if err := q.takeSend(ctx, cur); err != nil {
		return store.OutboxPending, err
	}
	err = q.handOver(ctx, cur)
	if err == nil {
		return q.recordSent(ctx, cur.ID)
	}
	if next, ok := q.retry.Next(cur.Attempts+1, now); ok && outbox.IsTemporary(err) {
		q.log.Warn("outbox: temporary failure, will retry", "outbox_id", cur.ID, "attempt", cur.Attempts+1, "next", next, "err", err)
		q.obs.ReplyDeferred(relayAnswered(err))
		if merr := q.store.MarkRetry(ctx, cur.ID, err.Error(), next); merr != nil {
			q.log.Error("outbox: cannot record the retry", "outbox_id", cur.ID, "err", merr)
			return store.OutboxPending, err
		}
		return store.OutboxPending, fmt.Errorf("%w: %w", errRetryRecorded, err)
	}
	q.log.Error("outbox: permanent failure, not retried; see `attestd outbox list`", "outbox_id", cur.ID, "err", err)
	q.obs.ReplyRefused()
	if merr := q.store.MarkPermanent(ctx, cur.ID, err.Error(), now); merr != nil {
		q.log.Error("outbox: cannot record the permanent failure", "outbox_id", cur.ID, "err", merr)
		return store.OutboxPending, merr
	}
	return store.OutboxPermanent, err
}

// relayAnswered reports whether a failed send got an SMTP reply at all: a
// 4xx means the relay is there but busy, a network error that it is not.
func relayAnswered(err error) bool {
	var se *outbox.SendError
	return errors.As(err, &se) && se.Code != 0
}

// recordSent records a reply the relay accepted, trying a few times at
// once: until it is recorded, a restart would send it again.
func (q *Queue) recordSent(ctx context.Context, id int64) (string, error) {
	var err error
	for try := range 4 {
		if err = q.store.MarkSent(ctx, id, q.now()); err == nil {
			q.flight.setUnrecorded(id, false)
			q.journalRecorded(id)
			q.obs.ReplySent()
			return store.OutboxSent, nil
		}
		q.log.Warn("outbox: cannot record a sent reply yet, trying again", "outbox_id", id, "try", try+1, "err", err)
		if !pause(ctx, 50*time.Millisecond<<try) {
			break
		}
	}
	q.flight.setUnrecorded(id, true)
	q.log.Error("outbox: reply sent but not recorded; recorded at the next retry, sent again only if attestd stops before",
		"outbox_id", id, "err", err)
	return store.OutboxPending, err
}

// hookMailer is a Mailer that calls back the instant the message is handed
// to the relay ([outbox.Sender.SendWithHook]).
type hookMailer interface {
	SendWithHook(ctx context.Context, from string, to []string, raw []byte, afterDot func()) error
}

// handOver gives one reply to the mailer. With a sent journal and a mailer
// that can say when the final dot is out, the reply is noted in the
// journal at that instant, and the note cancelled if the relay refuses it.
func (q *Queue) handOver(ctx context.Context, it *store.OutboxItem) error {
	hm, ok := q.mailer.(hookMailer)
	if q.journal == nil || !ok {
		return q.mailer.Send(ctx, it.From, it.To, it.Raw)
	}
	note, done := q.journal.prepare(it.ID)
	err := hm.SendWithHook(ctx, it.From, it.To, it.Raw, note)
	handed, jerr := done()
	if jerr != nil {
		q.log.Warn("outbox: cannot note a reply in the sent journal; a crash before it is recorded would send it again", "outbox_id", it.ID, "err", jerr)
	}
	if err != nil && handed {
		if jerr := q.journal.refused(it.ID); jerr != nil {
			q.log.Error("outbox: cannot cancel a refused reply in the sent journal; a restart would record it as sent: check outbox.journal and `attestd outbox retry`",
				"outbox_id", it.ID, "err", jerr)
		}
	}
	return err
}

// journalRecorded tells the journal that the store has recorded reply id.
func (q *Queue) journalRecorded(id int64) {
	if q.journal == nil {
		return
	}
	if err := q.journal.recorded(id); err != nil {
		q.log.Warn("outbox: cannot compact the sent journal, will try again", "err", err)
	}
}

// handedElsewhere reports whether the journal notes reply id as handed
// to the relay: by a replica killed before recording it (the database
// journal), or by this process before its last stop. It is then recorded,
// not sent. A journal it cannot read counts as no note.
func (q *Queue) handedElsewhere(ctx context.Context, id int64) bool {
	if q.journal == nil {
		return false
	}
	noted, err := q.journal.noted(ctx, id)
	if err != nil {
		q.log.Warn("outbox: cannot read the sent journal before sending", "outbox_id", id, "err", err)
	}
	if noted {
		q.log.Info("outbox: a reply the sent journal notes as handed to the relay is recorded as sent, not sent again", "outbox_id", id)
	}
	return noted
}

// Recover records as sent the replies that the journal says a previous
// run (or, in the database, a replica) handed to the relay, before
// anything is sent: the relay has them, only the store did not know. One
// the store cannot record now is never sent by this process, only
// recorded by its job. Call it once, before the first Handle or Deliver.
//
// With sender marks (Options.Senders and Node), Recover counts this run
// first and, once every reply the journal names is recorded, tells the
// other replicas that the marks of this node's earlier runs are settled.
func (q *Queue) Recover(ctx context.Context) {
	var boot int64
	if q.senders != nil && q.node != "" {
		var err error
		if boot, err = q.senders.Boot(ctx, q.node); err != nil {
			q.log.Warn("outbox: cannot count this run in the store; its replies go unmarked, and a kill while sending one could let another replica send it again", "err", err)
		}
	}
	if q.recoverJournal(ctx) && boot != 0 {
		if err := q.senders.Replayed(ctx, q.node, boot); err != nil {
			q.log.Warn("outbox: cannot record that the sent journal was read; other replicas wait outbox.sender_wait before sending what this node was sending", "err", err)
		}
	}
	if boot != 0 {
		q.sender = store.Sender{Node: q.node, Boot: boot}
	}
}

// recoverJournal records what the journal names; false when a reply it
// names could not be recorded now.
func (q *Queue) recoverJournal(ctx context.Context) bool {
	if q.journal == nil {
		return true
	}
	ids, err := q.journal.left(ctx)
	if err != nil {
		q.log.Warn("outbox: cannot read the sent journal at start; its replies are recorded when next sent", "err", err)
	}
	all := err == nil
	for _, id := range ids {
		err := q.store.MarkSent(ctx, id, q.now())
		switch {
		case err == nil:
			q.log.Info("outbox: a reply handed to the relay before the last stop is recorded as sent, not sent again", "outbox_id", id)
			q.journalRecorded(id)
		case errors.Is(err, store.ErrWrongState), errors.Is(err, store.ErrNotFound):
			q.journalRecorded(id) // settled already (or purged): nothing to do
		default:
			all = false
			q.flight.setUnrecorded(id, true)
			q.log.Warn("outbox: cannot record yet a reply handed to the relay before the last stop; recorded at the next retry, not sent again",
				"outbox_id", id, "err", err)
		}
	}
	if err := q.journal.compact(); err != nil {
		q.log.Warn("outbox: cannot compact the sent journal, will try again", "err", err)
	}
	return all
}

// pause waits d, or returns false as soon as ctx is done.
func pause(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
