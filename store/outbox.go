package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cpam/attestd/rules"
)

// The outbox states. A reply is pending until sent, or until a permanent
// failure (SMTP 5xx, or retries exhausted) that an operator may retry.
const (
	OutboxPending   = "pending"
	OutboxSent      = "sent"
	OutboxPermanent = "permanent"
)

// OutboxItem is a reply in the outbox.
type OutboxItem struct {
	ID, ClaimID int64
	From        string
	To          []string
	// Raw is the complete message; nil in ListOutbox results, and once
	// PurgeRaw removed it.
	Raw       []byte
	MessageID string
	State     string // OutboxPending, OutboxSent or OutboxPermanent
	// Attempts counts the delivery attempts that ended: MarkRetry,
	// MarkPermanent and MarkSent each add one. RetryOutbox resets it.
	Attempts    int
	NextAttempt time.Time
	LastError   string
	Created     time.Time
	// Updated is when the state last changed (created, sent, failed
	// permanently, retried by an operator).
	Updated time.Time
	SentAt  time.Time // zero until sent
	// Outcome is the outcome of the claim the reply answers.
	Outcome rules.Outcome
	// Sender is the run that may be handing the reply to the relay, zero
	// for none (see TakeSend).
	Sender Sender
}

// outboxSelect reads outbox rows with their claim's outcome, and their
// content (from outbox_bodies: nil once purged) when withRaw.
func outboxSelect(withRaw bool) string {
	raw, join := "NULL", ""
	if withRaw {
		raw, join = "b.raw", "LEFT JOIN outbox_bodies b ON b.outbox_id = o.id "
	}
	return `SELECT o.id, o.claim_id, o.mail_from, o.rcpt_to, ` + raw + `, o.message_id, o.state, o.attempts,
		o.next_attempt, o.last_error, o.created_at, o.updated_at, o.sent_at, c.outcome, o.sender, o.sender_boot
		FROM outbox o JOIN claims c ON c.id = o.claim_id ` + join
}

func scanOutbox(s interface{ Scan(...any) error }) (*OutboxItem, error) {
	var (
		it                     OutboxItem
		to                     string
		next, created, updated int64
		sent                   sql.NullInt64
	)
	err := s.Scan(&it.ID, &it.ClaimID, &it.From, &to, &it.Raw, &it.MessageID, &it.State, &it.Attempts,
		&next, &it.LastError, &created, &updated, &sent, &it.Outcome, &it.Sender.Node, &it.Sender.Boot)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(to), &it.To); err != nil {
		return nil, fmt.Errorf("outbox %d recipients: %w", it.ID, err)
	}
	it.NextAttempt, it.Created, it.Updated, it.SentAt = fromMillis(next), fromMillis(created), fromMillis(updated), fromNullMillis(sent)
	return &it, nil
}

func (db *DB) queryOutbox(ctx context.Context, query string, args ...any) ([]OutboxItem, error) {
	rows, err := db.p(db.sql).QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OutboxItem
	for rows.Next() {
		it, err := scanOutbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *it)
	}
	return out, rows.Err()
}

// DueOutbox returns up to limit pending replies whose next attempt is due at
// now, the longest waiting first, with their content.
func (db *DB) DueOutbox(ctx context.Context, now time.Time, limit int) ([]OutboxItem, error) {
	if limit <= 0 {
		limit = 100
	}
	out, err := db.queryOutbox(ctx, outboxSelect(true)+`WHERE o.state = ? AND o.next_attempt <= ?
		ORDER BY o.next_attempt, o.id LIMIT ?`, OutboxPending, millis(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due outbox: %w", err)
	}
	return out, nil
}

// PendingReplies lists the ids of the replies still pending, oldest first.
func (db *DB) PendingReplies(ctx context.Context) ([]int64, error) {
	ids, err := db.queryIDs(ctx, `SELECT id FROM outbox WHERE state = ? ORDER BY id`, OutboxPending)
	if err != nil {
		return nil, fmt.Errorf("store: pending replies: %w", err)
	}
	return ids, nil
}

// OutboxForClaim returns the reply recorded for a claim, with its content, or
// nil, nil when the decision had no reply.
func (db *DB) OutboxForClaim(ctx context.Context, claimID int64) (*OutboxItem, error) {
	return db.outboxForClaim(ctx, claimID, true)
}

// OutboxStateForClaim is OutboxForClaim without the content (Raw nil):
// where the reply stands, for a caller that holds its content already or
// needs none (a 40 KB reply read again for each message cost 7 % of the
// CPU of a burst, issue 14).
func (db *DB) OutboxStateForClaim(ctx context.Context, claimID int64) (*OutboxItem, error) {
	return db.outboxForClaim(ctx, claimID, false)
}

func (db *DB) outboxForClaim(ctx context.Context, claimID int64, withRaw bool) (*OutboxItem, error) {
	it, err := scanOutbox(db.p(db.sql).QueryRowContext(ctx, outboxSelect(withRaw)+`WHERE o.claim_id = ?`, claimID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: outbox of claim %d: %w", claimID, err)
	}
	return it, nil
}

// OutboxByID returns one reply with its content; an unknown id gives
// ErrNotFound.
func (db *DB) OutboxByID(ctx context.Context, id int64) (*OutboxItem, error) {
	it, err := scanOutbox(db.p(db.sql).QueryRowContext(ctx, outboxSelect(true)+`WHERE o.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: outbox item %d: %w", id, err)
	}
	return it, nil
}

// ListOutbox returns the replies in the given states (all when none is
// given), oldest first, without their content: for `attestd outbox list`.
func (db *DB) ListOutbox(ctx context.Context, states ...string) ([]OutboxItem, error) {
	query := outboxSelect(false)
	args := make([]any, len(states))
	if len(states) > 0 {
		for i, s := range states {
			if s != OutboxPending && s != OutboxSent && s != OutboxPermanent {
				return nil, fmt.Errorf("store: unknown outbox state %q: want %s, %s or %s", s, OutboxPending, OutboxSent, OutboxPermanent)
			}
			args[i] = s
		}
		query += `WHERE o.state IN (?` + strings.Repeat(`, ?`, len(states)-1) + `) `
	}
	out, err := db.queryOutbox(ctx, query+`ORDER BY o.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list outbox: %w", err)
	}
	return out, nil
}

// OutboxDepth counts the pending replies, due or not.
func (db *DB) OutboxDepth(ctx context.Context) (int, error) {
	var n int
	if err := db.p(db.sql).QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE state = ?`, OutboxPending).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: outbox depth: %w", err)
	}
	return n, nil
}

// MarkSent records that a pending reply was accepted by the SMTP server.
// Marking a sent reply again is a no-op. Its handover note, if any, is
// deleted in the same transaction. On SQLite it goes before the other
// writes of the process waiting for the database: until it commits, a
// crash would send the reply again.
func (db *DB) MarkSent(ctx context.Context, id int64, now time.Time) error {
	return db.outboxUpdate(ctx, id, true, "mark sent", OutboxSent, db.settledHook(id),
		`UPDATE outbox SET state = ?, attempts = attempts + 1, sent_at = ?, updated_at = ? WHERE id = ? AND state = ?`,
		OutboxSent, millis(now), millis(now), id, OutboxPending)
}

// MarkRetry records a failed attempt at a pending reply (SMTP 4xx,
// connection refused) and when to try next. The attempt is over: the
// reply's sender mark is cleared, any replica may take the next one.
func (db *DB) MarkRetry(ctx context.Context, id int64, errText string, next time.Time) error {
	return db.outboxUpdate(ctx, id, false, "mark for retry", "", db.dueHook(id, next),
		`UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt = ?, sender = '' WHERE id = ? AND state = ?`,
		errText, millis(next), id, OutboxPending)
}

// MarkPermanent records that a pending reply failed for good (SMTP 5xx, or
// retries exhausted): it stays visible to operators and is not retried
// unless RetryOutbox says so. Marking it permanent again is a no-op.
func (db *DB) MarkPermanent(ctx context.Context, id int64, errText string, now time.Time) error {
	return db.outboxUpdate(ctx, id, false, "mark failed", OutboxPermanent, db.settledHook(id),
		`UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ?, updated_at = ?, sender = '' WHERE id = ? AND state = ?`,
		OutboxPermanent, errText, millis(now), id, OutboxPending)
}

// RetryOutbox makes a pending or permanently failed reply due at now with a
// fresh retry budget (Attempts 0), for an operator (`attestd outbox retry`).
// A sent reply is refused with ErrWrongState: it would go out twice.
func (db *DB) RetryOutbox(ctx context.Context, id int64, now time.Time) error {
	return db.outboxUpdate(ctx, id, false, "retry", "", db.dueHook(id, now),
		`UPDATE outbox SET state = ?, attempts = 0, next_attempt = ?, updated_at = ?
		WHERE id = ? AND state IN (?, ?) AND EXISTS (SELECT 1 FROM outbox_bodies WHERE outbox_id = outbox.id)`,
		OutboxPending, millis(now), millis(now), id, OutboxPending, OutboxPermanent)
}

// jobHook keeps the reply's job in step with a changed row, in its
// transaction (see ReplyJobs).
type jobHook func(ctx context.Context, tx *sql.Tx) error

// outboxUpdate runs a state-guarded update of one outbox row, urgent
// (before the other writers waiting) for MarkSent, and job when it
// changed the row. When it changes nothing
// it says why: ErrNotFound, or ErrWrongState, except that a row already in
// the state noOp (if any) is success.
func (db *DB) outboxUpdate(ctx context.Context, id int64, urgent bool, what, noOp string, job jobHook, query string, args ...any) error {
	err := db.tx(ctx, false, urgent, func(tx *sql.Tx) error {
		if noOp == OutboxSent {
			// MarkSent: the reply's handover note (NoteHandover) goes with it.
			if _, err := db.p(tx).ExecContext(ctx, `DELETE FROM sent_handover WHERE outbox_id = ?`, id); err != nil {
				return err
			}
		}
		res, err := db.p(tx).ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			if err == nil && job != nil {
				err = job(ctx, tx)
			}
			return err
		}
		var (
			state  string
			purged bool
		)
		err = db.p(tx).QueryRowContext(ctx, `SELECT o.state, b.outbox_id IS NULL FROM outbox o
			LEFT JOIN outbox_bodies b ON b.outbox_id = o.id WHERE o.id = ?`, id).Scan(&state, &purged)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return err
		case state == noOp:
			return nil
		case purged && state != OutboxSent:
			return fmt.Errorf("%w: the reply's content was purged", ErrWrongState)
		}
		return fmt.Errorf("%w: the reply is %s", ErrWrongState, state)
	})
	if err != nil {
		return fmt.Errorf("store: %s outbox item %d: %w", what, id, err)
	}
	return nil
}
