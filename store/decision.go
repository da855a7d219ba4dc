package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cpam/attestd/rules"
)

// Decision is what the daemon concluded about a claimed message, stored with
// the reply to send by RecordDecision.
type Decision struct {
	Outcome rules.Outcome
	// Folder is the IMAP folder the message goes to once handled.
	Folder string
	// CompteID is the compte the message was attributed to; "" if none. An
	// Issued decision counts toward that compte's attestation rate.
	CompteID string
	// Reference is the attestation's unique reference, if any.
	Reference string
	// ReplyTo is the address the reply goes to, "" when there is none. It is
	// stored lower-cased for the generic-reply rate limit.
	ReplyTo string
	// Generic marks a reply that counts toward ReplyTo's generic-reply rate
	// (sender_unknown, sender_ambiguous).
	Generic bool
	// Reply is the reply to send; nil for none.
	Reply *OutboxMessage
	// Channel is how the request came (direct, gateway, agent, api) and
	// Detail why it ended so, when the outcome alone does not say; never
	// personal data. Both are for operators (the console).
	Channel, Detail string
	// Sender is the run that sends the reply at once, the reply's first
	// mark (see TakeSend); zero: none.
	Sender Sender
}

// OutboxMessage is a reply ready to go: envelope and complete message.
type OutboxMessage struct {
	From      string   // SMTP MAIL FROM
	To        []string // SMTP RCPT TO, at least one
	Raw       []byte   // the complete RFC 5322 message, CRLF line ends
	MessageID string   // its Message-ID, for operators
}

// check says what is wrong with d, if anything.
func (d *Decision) check() error {
	if !slices.Contains(rules.Outcomes, d.Outcome) {
		return fmt.Errorf("unknown outcome %q", d.Outcome)
	}
	if d.Folder == "" {
		return errors.New("no folder: every handled message is moved to one")
	}
	r := d.Reply
	if r == nil {
		return nil
	}
	if r.From == "" || len(r.To) == 0 || len(r.Raw) == 0 {
		return errors.New("reply needs a sender, a recipient and a message")
	}
	for _, a := range append([]string{r.From}, r.To...) {
		if a == "" || strings.ContainsAny(a, "\r\n") {
			return errors.New("reply envelope address empty or holding a line break")
		}
	}
	return nil
}

// RecordDecision stores the decision about a claimed message and, when there
// is one, its reply in the outbox, in one transaction: the claim moves to
// decided and the reply is pending, or nothing changes (SPEC section 8,
// durable outbox). The reply is due at now, and has no delivery job yet
// (SetReplyJobs): see PendingReplies. The claim's rate-limit
// reservation (see Reserve) is deleted in the same transaction.
//
// It is idempotent: a second call on a decided (or done) claim changes
// nothing and returns an error wrapping ErrAlreadyDecided; on an unknown
// claim, ErrNotFound. Under a lease (WithLease) it first checks that the
// lease is still held: ErrLeaseLost otherwise.
func (db *DB) RecordDecision(ctx context.Context, claimID int64, d Decision, now time.Time) error {
	if err := d.check(); err != nil {
		return fmt.Errorf("store: decision for claim %d: %w", claimID, err)
	}
	err := db.inTx(ctx, false, func(tx *sql.Tx) error {
		if err := db.checkLease(ctx, tx); err != nil {
			return err
		}
		res, err := db.p(tx).ExecContext(ctx, `UPDATE claims SET state = ?, outcome = ?, folder = ?, compte_id = ?, ref = ?,
			reply_to = ?, generic = ?, decided_at = ?, channel = ?, detail = ? WHERE id = ? AND state = ?`,
			StateDecided, d.Outcome, d.Folder, d.CompteID, d.Reference, normAddress(d.ReplyTo), boolInt(d.Generic),
			millis(now), d.Channel, d.Detail, claimID, StateClaimed)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			state, err := db.claimState(ctx, tx, claimID)
			if err != nil {
				return err
			}
			return fmt.Errorf("%w (state %s)", ErrAlreadyDecided, state)
		}
		// The decision counts now: its rate-limit reservation, if any, goes.
		if _, err := db.p(tx).ExecContext(ctx, `DELETE FROM rate_reservations WHERE holder = (SELECT message_id FROM claims WHERE id = ?)`,
			claimID); err != nil {
			return err
		}
		if d.Reply == nil {
			return nil
		}
		to, _ := json.Marshal(d.Reply.To) // a []string always encodes
		var id int64
		err = db.p(tx).QueryRowContext(ctx, `INSERT INTO outbox (claim_id, mail_from, rcpt_to, message_id, state,
			attempts, next_attempt, last_error, created_at, updated_at, sender, sender_boot, sending_since)
			VALUES (?, ?, ?, ?, ?, 0, ?, '', ?, ?, ?, ?, `+db.dbNow()+`) RETURNING id`,
			claimID, d.Reply.From, string(to), d.Reply.MessageID, OutboxPending,
			millis(now), millis(now), millis(now), d.Sender.Node, d.Sender.Boot).Scan(&id)
		if err != nil {
			return err
		}
		// The content goes in a row that no state change rewrites (migration 0007).
		if _, err := db.p(tx).ExecContext(ctx, `INSERT INTO outbox_bodies (outbox_id, raw) VALUES (?, ?)`, id, d.Reply.Raw); err != nil {
			return err
		}
		// No job: the caller sends the reply at once, and gives it one
		// only if it is still pending after that (package queue).
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: record decision for claim %d: %w", claimID, err)
	}
	return nil
}

// claimState reads the state of a claim: why an update guarded by the state
// changed nothing. The error wraps ErrNotFound for an unknown claim.
func (db *DB) claimState(ctx context.Context, q querier, id int64) (ClaimState, error) {
	var state ClaimState
	err := db.p(q).QueryRowContext(ctx, `SELECT state FROM claims WHERE id = ?`, id).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return state, err
}

// MarkDone records that the message of a decided claim was moved to its
// folder: the claim is done. Marking a done claim again is a no-op; a claim
// without a decision gives ErrWrongState, an unknown one ErrNotFound.
func (db *DB) MarkDone(ctx context.Context, claimID int64, now time.Time) error {
	var wrong error
	err := db.inTx(ctx, false, func(tx *sql.Tx) (err error) {
		wrong, err = db.markDone(ctx, tx, claimID, now)
		return err
	})
	if err == nil {
		err = wrong
	}
	if err != nil {
		return fmt.Errorf("store: mark claim %d done: %w", claimID, err)
	}
	return nil
}

// MarkDoneAll is MarkDone for the claims of messages filed together, in
// one transaction (a write transaction less per message, issue 14). A
// claim that cannot be closed (not decided, unknown) is left as it is and
// named in the error; the others are done all the same.
func (db *DB) MarkDoneAll(ctx context.Context, claimIDs []int64, now time.Time) error {
	var wrong []error
	err := db.inTx(ctx, false, func(tx *sql.Tx) error {
		wrong = wrong[:0]
		for _, id := range claimIDs {
			w, err := db.markDone(ctx, tx, id, now)
			if err != nil {
				return err
			}
			if w != nil {
				wrong = append(wrong, fmt.Errorf("claim %d: %w", id, w))
			}
		}
		return nil
	})
	if err == nil {
		err = errors.Join(wrong...)
	}
	if err != nil {
		return fmt.Errorf("store: mark %d claims done: %w", len(claimIDs), err)
	}
	return nil
}

// markDone closes one decided claim in tx. wrong says why a claim could not
// be closed (ErrWrongState, ErrNotFound); err is the transaction's failure.
func (db *DB) markDone(ctx context.Context, tx *sql.Tx, claimID int64, now time.Time) (wrong, err error) {
	res, err := db.p(tx).ExecContext(ctx, `UPDATE claims SET state = ?, done_at = ? WHERE id = ? AND state = ?`,
		StateDone, millis(now), claimID, StateDecided)
	if err != nil {
		return nil, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return nil, err
	}
	state, err := db.claimState(ctx, tx, claimID)
	switch {
	case errors.Is(err, ErrNotFound):
		return err, nil
	case err != nil || state == StateDone:
		return nil, err
	}
	return fmt.Errorf("%w: the claim is %s, not decided", ErrWrongState, state), nil
}

// CountIssuedSince counts the attestations issued to compteID decided at or
// after since (SPEC section 7: at most N per compte per 24 h).
func (db *DB) CountIssuedSince(ctx context.Context, compteID string, since time.Time) (int, error) {
	var n int
	err := db.p(db.sql).QueryRowContext(ctx, `SELECT count(*) FROM claims WHERE compte_id = ? AND outcome = ? AND decided_at >= ?`,
		compteID, rules.Issued, millis(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count issued attestations: %w", err)
	}
	return n, nil
}

// CountGenericSince counts the generic replies to address (compared without
// case) decided at or after since (SPEC section 7: at most M per address per
// 24 h).
func (db *DB) CountGenericSince(ctx context.Context, address string, since time.Time) (int, error) {
	var n int
	err := db.p(db.sql).QueryRowContext(ctx, `SELECT count(*) FROM claims WHERE reply_to = ? AND generic = 1 AND decided_at >= ?`,
		normAddress(address), millis(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count generic replies: %w", err)
	}
	return n, nil
}

func normAddress(a string) string { return strings.ToLower(strings.TrimSpace(a)) }

// PurgeRaw removes the raw content of requests handled (done) before
// `before`, and of their replies once no longer pending; outcomes, references
// and counts stay. It returns how many requests lost their content.
func (db *DB) PurgeRaw(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.inTx(ctx, false, func(tx *sql.Tx) error {
		_, err := db.p(tx).ExecContext(ctx, `DELETE FROM outbox_bodies WHERE outbox_id IN (SELECT o.id FROM outbox o
			JOIN claims c ON c.id = o.claim_id WHERE o.state <> ? AND c.state = ? AND c.done_at < ?)`,
			OutboxPending, StateDone, millis(before))
		if err != nil {
			return err
		}
		res, err := db.p(tx).ExecContext(ctx, `UPDATE claims SET raw = NULL WHERE raw IS NOT NULL AND state = ? AND done_at < ?`,
			StateDone, millis(before))
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		// Reservations of requests never decided (see ReservationTTL).
		_, err = db.p(tx).ExecContext(ctx, `DELETE FROM rate_reservations WHERE expires_at < ?`, millis(before))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: purge raw messages: %w", err)
	}
	return n, nil
}

// OutcomeCounts counts the decided (and done) claims per outcome.
func (db *DB) OutcomeCounts(ctx context.Context) (map[rules.Outcome]int, error) {
	rows, err := db.p(db.sql).QueryContext(ctx, `SELECT outcome, count(*) FROM claims WHERE state <> ? GROUP BY outcome`, StateClaimed)
	if err != nil {
		return nil, fmt.Errorf("store: outcome counts: %w", err)
	}
	defer rows.Close()
	out := map[rules.Outcome]int{}
	for rows.Next() {
		var (
			o rules.Outcome
			n int
		)
		if err := rows.Scan(&o, &n); err != nil {
			return nil, fmt.Errorf("store: outcome counts: %w", err)
		}
		out[o] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: outcome counts: %w", err)
	}
	return out, nil
}
