package store

import (
	"context"
	"time"
)

// The roles *DB plays, one interface each, so that a caller names what it
// needs (the queue: Ledger and Outbox; the decision: Counts; the retention
// job: Retention; the HTTP API: Calls; the console's retry: Reopen) and a test can stand in for one role. Every method is
// safe for concurrent use; on SQLite the writes of one process queue at a
// write gate where MarkSent goes first (see writeGate). The *DB methods'
// comments say more.

// Ledger is the record of every message seen (SPEC section 8). A message
// goes Claim, RecordDecision, MarkDone, each its own transaction, so that
// a crash anywhere resumes without losing the message or answering twice.
type Ledger interface {
	// Claim records that the message at key was seen and counts the
	// attempt, in one transaction, before anything is done with it. It
	// returns the message's claim, new or existing: a message known under
	// another key (same messageID) comes back with Duplicate set. Attempts
	// grows only while the claim is undecided, so calling Claim again to
	// re-read a decided claim is harmless. raw nil is kept as empty.
	Claim(ctx context.Context, key MessageKey, messageID string, raw []byte) (*Claim, error)
	// RecordDecision stores the outcome and the reply (if any) of a claimed
	// message together, the reply pending and due at now, or changes
	// nothing. On a claim already decided it changes nothing and returns an
	// error wrapping ErrAlreadyDecided; on an unknown one, ErrNotFound.
	// Claim and RecordDecision under a lease (WithLease) check it in their
	// transaction: ErrLeaseLost, and no change, once it is lost.
	RecordDecision(ctx context.Context, claimID int64, d Decision, now time.Time) error
	// MarkDone records that the message of a decided claim is in its
	// folder. Again on a done claim: nil. On an undecided claim:
	// ErrWrongState; on an unknown one: ErrNotFound.
	MarkDone(ctx context.Context, claimID int64, now time.Time) error
	// MarkDoneAll is MarkDone for several claims in one transaction; the
	// claims it cannot close are named in its error, the others are done.
	MarkDoneAll(ctx context.Context, claimIDs []int64, now time.Time) error
	// Unfinished returns the claims first made in mailbox that are not done
	// (claimed or decided), oldest first: what a restart resumes.
	Unfinished(ctx context.Context, mailbox string) ([]Claim, error)
}

// Leases are the mailbox leases of several replicas on one store (issue
// 11): a replica watches a mailbox only while it holds its lease. Times run
// on the database's clock. The ledger writes made under a lease
// (WithLease) are refused with ErrLeaseLost once it is lost.
type Leases interface {
	// AcquireLease takes the lease of mailbox for holder, for ttl, when it
	// is free or expired, at a new epoch; nil, the current holder and how
	// long its lease still runs otherwise.
	AcquireLease(ctx context.Context, mailbox, holder string, ttl time.Duration) (*Lease, LeaseHeld, error)
	// TakeLease is AcquireLease that also takes the lease from the holder
	// from, expired or not: a holder known to be dead.
	TakeLease(ctx context.Context, mailbox, holder, from string, ttl time.Duration) (*Lease, LeaseHeld, error)
	// RenewLease extends a lease held for ttl; ErrLeaseLost when it expired
	// (taken or not) or was released.
	RenewLease(ctx context.Context, l Lease, ttl time.Duration) error
	// ReleaseLease gives a lease up at once; one lost already is left as
	// it is.
	ReleaseLease(ctx context.Context, l Lease) error
}

// Outbox is the durable outbox: the replies RecordDecision stored, each
// pending until sent or failed for good. Every change is guarded by the
// state: a reply settled meanwhile is never changed again.
type Outbox interface {
	// OutboxForClaim returns the reply of a claim with its content, or
	// nil, nil when the decision had none.
	OutboxForClaim(ctx context.Context, claimID int64) (*OutboxItem, error)
	// OutboxStateForClaim is OutboxForClaim without the content (Raw nil).
	OutboxStateForClaim(ctx context.Context, claimID int64) (*OutboxItem, error)
	// OutboxByID returns one reply with its content; ErrNotFound when
	// there is none with that id.
	OutboxByID(ctx context.Context, id int64) (*OutboxItem, error)
	// DueOutbox returns up to limit pending replies due at now, the longest
	// waiting first, with their content.
	DueOutbox(ctx context.Context, now time.Time, limit int) ([]OutboxItem, error)
	// MarkSent records that the relay accepted a pending reply and counts
	// the attempt. Again on a sent reply: nil. Otherwise ErrWrongState
	// (the reply failed for good meanwhile) or ErrNotFound.
	MarkSent(ctx context.Context, id int64, now time.Time) error
	// MarkRetry counts a failed attempt at a pending reply and sets when to
	// try next. On a reply no longer pending: ErrWrongState.
	MarkRetry(ctx context.Context, id int64, errText string, next time.Time) error
	// MarkPermanent records that a pending reply failed for good (SMTP 5xx,
	// attempts exhausted) and counts the attempt; only an operator's
	// RetryOutbox makes it pending again. Again on such a reply: nil.
	MarkPermanent(ctx context.Context, id int64, errText string, now time.Time) error
}

// Counts are the counts and reservations of the rate limits (SPEC section
// 7).
type Counts interface {
	// Reserve counts the decisions recorded under r's limit and the
	// reservations of other requests and, under the limit, reserves
	// r.Holder's place until its decision is recorded, in one transaction
	// serialized per limit key across every process on the database. It
	// reports whether the place is reserved.
	Reserve(ctx context.Context, r Reservation) (bool, error)
	// ReleaseReservation gives up holder's reservation, if any, when its
	// decision will not be recorded now.
	ReleaseReservation(ctx context.Context, holder string) error
	// CountIssuedSince counts the attestations issued to compteID decided
	// at or after since.
	CountIssuedSince(ctx context.Context, compteID string, since time.Time) (int, error)
	// CountGenericSince counts the generic replies to address (compared
	// without case) decided at or after since.
	CountGenericSince(ctx context.Context, address string, since time.Time) (int, error)
}

// Handover is the sent handover in the database: the replies handed to the
// relay whose acceptance is not recorded yet, which every process on the
// database reads before sending (the file journal's part, for a cluster).
// MarkSent deletes a reply's note in its transaction.
type Handover interface {
	// NoteHandover notes, committed at once, that holder handed reply
	// outboxID to the relay at at; again: no change.
	NoteHandover(ctx context.Context, outboxID int64, holder string, at time.Time) error
	// ForgetHandover deletes the note: the relay refused the reply.
	ForgetHandover(ctx context.Context, outboxID int64) error
	// HandedOver reports whether reply outboxID is noted.
	HandedOver(ctx context.Context, outboxID int64) (bool, error)
	// Handovers returns every reply noted.
	Handovers(ctx context.Context) ([]int64, error)
}

// Senders marks which node's run may be handing a reply to the relay, so
// that replicas with local sent journals do not send it twice (see
// TakeSend).
type Senders interface {
	// Boot counts a new run of node and returns its number.
	Boot(ctx context.Context, node string) (int64, error)
	// Replayed records that run boot of node has read its sent journal.
	Replayed(ctx context.Context, node string, boot int64) error
	// TakeSend marks pending reply outboxID as sent by s, unless another
	// node's run may still be sending it (NotTaken: not now).
	TakeSend(ctx context.Context, outboxID int64, s Sender, wait time.Duration) (Taken, error)
}

// Retention forgets the content of old messages.
type Retention interface {
	// PurgeRaw removes the raw content of the requests done before before,
	// and of their replies once not pending; outcomes, references and
	// counts stay. It returns how many requests lost their content.
	PurgeRaw(ctx context.Context, before time.Time) (int64, error)
}

// Calls records the calls of the HTTP API in the ledger (issue 13).
type Calls interface {
	// RecordCall records one API call as a claim already done, without
	// raw content, under callID (unique, "api:<random>"); an Issued
	// decision counts toward the compte's rate limit as a mailed one does.
	RecordCall(ctx context.Context, callID string, d Decision, now time.Time) (int64, error)
}

// Reopen is what an operator's retry needs of the ledger.
type Reopen interface {
	// EntryByID returns one ledger row with its raw message (nil once
	// purged); an unknown id gives ErrNotFound.
	EntryByID(ctx context.Context, id int64) (*Entry, []byte, error)
	// ReopenClaim makes a handled message filed in one of folders
	// undecided again and writes the audit entry, in one transaction; a
	// claim whose reply still waits is refused with ErrWrongState.
	ReopenClaim(ctx context.Context, claimID int64, folders []string, e AuditEntry) error
}

var (
	_ Calls     = (*DB)(nil)
	_ Reopen    = (*DB)(nil)
	_ Ledger    = (*DB)(nil)
	_ Outbox    = (*DB)(nil)
	_ Counts    = (*DB)(nil)
	_ Retention = (*DB)(nil)
	_ Handover  = (*DB)(nil)
	_ Senders   = (*DB)(nil)
	_ Leases    = (*DB)(nil)
)
