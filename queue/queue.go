// Package queue is the one state machine a message goes through, from the
// moment it is seen to the moment it is filed (SPEC section 8): claim it in
// the ledger, decide it, store the decision and its reply together, send
// the reply, record it sent, file the message. The durable outbox (the
// replies stored and not yet out), its retry policy and its sent journal
// live here too; the rows are in package store, the SMTP client in package
// outbox, and the IMAP loops that feed the queue in package daemon.
//
// # Order of effects
//
// For every message: [Queue.Handle] claims it (the attempt is counted
// before anything else), has it decided ([Decider]), records the outcome
// and the reply in one transaction, and delivers the reply
// ([Queue.Deliver]: hand it to the relay, record what the relay said). The
// caller moves the message to its folder and closes the claim
// ([Queue.Filed]). A crash anywhere resumes from the ledger: a decided
// message is never decided again, a sent reply is never sent again, and a
// message is only moved once its reply is out (or permanently refused).
//
// # Names
//
// Deliver is one attempt at a stored reply and the record of its result;
// handOver is the part of it that gives the bytes to the relay. Handle
// delivers the reply of the message it decides once, at once; a reply
// that fails then is its job's (River, see job.go), on the [RetryPolicy].
package queue

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/cpam/attestd/identity"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
)

// Store is what the queue needs of the store: the ledger and the outbox.
type Store interface {
	store.Ledger
	store.Outbox
}

// Mailer hands a stored reply to the relay. A Mailer that can also say
// when the end of the data is out (SendWithHook, as [outbox.Sender] does)
// lets the sent journal note the reply at that instant.
type Mailer interface {
	Send(ctx context.Context, from string, to []string, raw []byte) error
}

// Observer is told what becomes of the replies, for metrics. It is called
// from several goroutines at once and must be cheap; no call carries
// personal data.
type Observer interface {
	// ReplySent: the SMTP relay accepted a reply.
	ReplySent()
	// ReplyDeferred: a temporary SMTP failure, the outbox retries later.
	// reachable is false when no relay answered at all (connection
	// refused or cut, timeout).
	ReplyDeferred(reachable bool)
	// ReplyRefused: a permanent SMTP failure; the reply is not retried.
	ReplyRefused()
}

// Decider decides a claimed message. It is called at most once at a time
// per message, from several goroutines for different messages.
type Decider interface {
	// Decide reads the message raw (nil: over the size limit) whose ledger
	// key is msgID, found in mailbox (the ledger key's mailbox: it says
	// which folders, reply address and organisme answer), and returns its
	// verdict. An error is an internal failure (the store unreachable):
	// the message is tried again later.
	Decide(ctx context.Context, mailbox string, raw []byte, msgID string, now time.Time) (Verdict, error)
	// GiveUp is the verdict of a message of mailbox whose attempts ran
	// out: the generic "n'a pas abouti" reply when one can be composed, and
	// the manual folder. It does not fail.
	GiveUp(mailbox string, raw []byte, msgID string, now time.Time) Verdict
}

// Verdict is the decision on one message, stored with its reply in one
// transaction.
type Verdict struct {
	Outcome   rules.Outcome
	Folder    string
	Channel   identity.Channel
	CompteID  string
	ReplyTo   string
	Generic   bool
	Reference string
	// Reply is the composed reply; nil: no reply.
	Reply *store.OutboxMessage
	// Detail says why, for the operator's log line; never personal data.
	Detail string
	// Release frees the rate-limit reservation this verdict holds when it
	// could not be recorded (recording consumes it); nil when it holds
	// none.
	Release func()
}

// Options are the queue's seams.
type Options struct {
	Store   Store
	Mailer  Mailer
	Decider Decider
	Logger  *slog.Logger
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Observer is told what becomes of replies; nil: nobody.
	Observer Observer
	// Retry says when a reply that failed temporarily is tried again.
	Retry RetryPolicy
	// MaxAttempts is how many times a message is tried before it is given
	// up (limits.max_attempts); 0: 3.
	MaxAttempts int
	// JournalPath is the sent journal's file (outbox.journal); "": none.
	JournalPath string
	// Handover, when not nil, keeps the sent journal in the database
	// (outbox.journal "database") instead of JournalPath's file: every
	// process on the database reads it.
	Handover store.Handover
	// Senders, when not nil, marks which node's run may be handing each
	// reply to the relay (store.TakeSend): a replica then waits for another
	// node that died while sending to start again and read its journal,
	// for at most SenderWait, before sending that reply itself.
	Senders store.Senders
	// Node names this replica's run in those marks, the same across its
	// restarts (outbox.node); "" when it keeps no sent journal file, which
	// leaves its replies unmarked.
	Node       string
	SenderWait time.Duration
}

// Queue takes messages through the state machine. It is safe for
// concurrent use.
type Queue struct {
	store       Store
	mailer      Mailer
	decider     Decider
	log         *slog.Logger
	now         func() time.Time
	obs         Observer
	retry       RetryPolicy
	maxAttempts int

	flight  *flight  // claims and replies being worked on now
	jobs    *Jobs    // the work queue (NewJobs sets it); nil: none
	journal handover // replies handed to the relay; nil: outbox.journal off

	senders    store.Senders // nil: replies are not marked
	node       string
	senderWait time.Duration
	// sender is this run's mark, set by Recover before any reply is
	// stored; zero: unmarked.
	sender store.Sender
}

// New returns a queue; it opens the sent journal, if any, and reads what
// a previous run left in it. Close closes it.
func New(o Options) (*Queue, error) {
	if o.Store == nil || o.Mailer == nil || o.Decider == nil {
		return nil, errors.New("queue: a store, a mailer and a decider are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	q := &Queue{store: o.Store, mailer: o.Mailer, decider: o.Decider, log: o.Logger, now: o.Now, obs: o.Observer,
		retry: o.Retry.withDefaults(), maxAttempts: o.MaxAttempts, flight: newFlight(),
		senders: o.Senders, node: o.Node, senderWait: cmp.Or(o.SenderWait, time.Minute)}
	var file *journal
	if o.JournalPath != "" {
		var err error
		if file, _, err = openJournal(o.JournalPath); err != nil {
			return nil, err
		}
	}
	switch {
	case o.Handover != nil && file != nil:
		q.journal = &bothJournal{file: file, db: newDBJournal(o.Handover, o.Now)}
	case o.Handover != nil:
		q.journal = newDBJournal(o.Handover, o.Now)
	case file != nil:
		q.journal = file
	}
	return q, nil
}

// Close closes the sent journal.
func (q *Queue) Close() error {
	if q.journal == nil {
		return nil
	}
	return q.journal.Close()
}

type nopObserver struct{}

func (nopObserver) ReplySent()         {}
func (nopObserver) ReplyDeferred(bool) {}
func (nopObserver) ReplyRefused()      {}
