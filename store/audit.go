package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The actions of the audit log.
const (
	AuditRetry       = "retry"        // a message decided again
	AuditHandled     = "handled"      // a message marked handled
	AuditOutboxRetry = "outbox_retry" // a reply made due again
	AuditLogin       = "login"
	AuditLoginFailed = "login_failed"
)

// AuditEntry is one operator action: who, when, what (issue 13).
type AuditEntry struct {
	ID       int64
	At       time.Time
	Who      string
	Action   string
	ClaimID  int64 // 0: none
	OutboxID int64 // 0: none
	Comment  string
}

// Audit appends an entry to the audit log.
func (db *DB) Audit(ctx context.Context, e AuditEntry) error {
	return db.inTx(ctx, false, func(tx *sql.Tx) error { return db.audit(ctx, tx, e) })
}

func (db *DB) audit(ctx context.Context, q querier, e AuditEntry) error {
	_, err := q.ExecContext(ctx, db.q(`INSERT INTO audit_log (at, who, action, claim_id, outbox_id, comment) VALUES (?, ?, ?, ?, ?, ?)`),
		millis(e.At), e.Who, e.Action, nullID(e.ClaimID), nullID(e.OutboxID), e.Comment)
	if err != nil {
		return fmt.Errorf("store: audit log: %w", err)
	}
	return nil
}

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

// MarkHandled records that an operator dealt with a message of Manual or
// Quarantine, with the audit entry, in one transaction.
func (db *DB) MarkHandled(ctx context.Context, claimID int64, who, comment string, now time.Time) error {
	return db.inTx(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.q(`UPDATE claims SET handled_at = ? WHERE id = ?`), millis(now), claimID)
		if err != nil {
			return fmt.Errorf("store: mark claim %d handled: %w", claimID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("store: mark claim %d handled: %w", claimID, ErrNotFound)
		}
		return db.audit(ctx, tx, AuditEntry{At: now, Who: who, Action: AuditHandled, ClaimID: claimID, Comment: comment})
	})
}

// AuditLog returns the latest entries, about one claim when claimID is not
// 0, the latest first.
func (db *DB) AuditLog(ctx context.Context, claimID int64, limit int) ([]AuditEntry, error) {
	query, args := `SELECT id, at, who, action, claim_id, outbox_id, comment FROM audit_log`, []any{}
	if claimID != 0 {
		query += ` WHERE claim_id = ?`
		args = append(args, claimID)
	}
	rows, err := db.sql.QueryContext(ctx, db.q(query+` ORDER BY id DESC LIMIT ?`), append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: read the audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var (
			e        AuditEntry
			at       int64
			cid, oid sql.NullInt64
		)
		if err := rows.Scan(&e.ID, &at, &e.Who, &e.Action, &cid, &oid, &e.Comment); err != nil {
			return nil, fmt.Errorf("store: read the audit log: %w", err)
		}
		e.At, e.ClaimID, e.OutboxID = fromMillis(at), cid.Int64, oid.Int64
		out = append(out, e)
	}
	return out, rows.Err()
}

// ReopenClaim makes a handled message of folder undecided again, so that
// the daemon decides it anew when it sees it in its mailbox (an operator's
// retry), and writes the audit entry, in one transaction. A reply already
// sent or refused is dropped from the outbox (the audit comment says so);
// a claim whose reply still waits is refused with ErrWrongState.
func (db *DB) ReopenClaim(ctx context.Context, claimID int64, folders []string, e AuditEntry) error {
	err := db.inTx(ctx, false, func(tx *sql.Tx) error {
		var state, folder string
		err := tx.QueryRowContext(ctx, db.q(`SELECT state, folder FROM claims WHERE id = ?`), claimID).Scan(&state, &folder)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if state != string(StateDone) || !slices.Contains(folders, folder) {
			return fmt.Errorf("%w: the message is %s in %q", ErrWrongState, state, folder)
		}
		var outState string
		err = tx.QueryRowContext(ctx, db.q(`SELECT state FROM outbox WHERE claim_id = ?`), claimID).Scan(&outState)
		switch {
		case err == nil && outState == OutboxPending:
			return fmt.Errorf("%w: its reply is still waiting in the outbox", ErrWrongState)
		case err == nil:
			if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM outbox WHERE claim_id = ?`), claimID); err != nil {
				return err
			}
			e.Comment = strings.TrimSpace(e.Comment + " (earlier reply, " + outState + ", dropped from the outbox)")
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, db.q(`UPDATE claims SET state = ?, attempts = 0, outcome = '', folder = '', ref = '',
			reply_to = '', generic = 0, decided_at = NULL, done_at = NULL, handled_at = NULL, detail = '' WHERE id = ?`),
			StateClaimed, claimID)
		if err != nil {
			return err
		}
		e.ClaimID, e.Action = claimID, AuditRetry
		return db.audit(ctx, tx, e)
	})
	if err != nil {
		return fmt.Errorf("store: reopen claim %d: %w", claimID, err)
	}
	return nil
}
