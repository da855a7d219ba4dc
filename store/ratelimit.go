package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cpam/attestd/rules"
)

// ReservationTTL is how long a rate-limit reservation holds without its
// decision being recorded. Recording the decision (or an operator's
// abandon) deletes it long before: reserving, rendering the PDF and
// composing the reply take milliseconds, seconds on a loaded machine. It
// bounds what a replica killed in between costs: its message, resumed by
// another replica, reuses the reservation (same holder), but an API call
// cut off there holds a place of its compte's daily limit until then. Five
// minutes is a hundred times the slowest decision seen and 0.3 % of the
// 24 h window; clocks of replicas a few seconds apart do not matter at that
// scale.
const ReservationTTL = 5 * time.Minute

// Reservation asks for a place under one rate limit of SPEC section 7.
// Exactly one of CompteID and Address is set.
type Reservation struct {
	// Holder is the ledger key of the request (the claim's message_id, the
	// API call's id): a request decided again after a crash finds its own
	// reservation and does not count it twice.
	Holder string
	// CompteID: the limit on attestations issued to this compte.
	CompteID string
	// Address: the limit on generic replies to this address (compared
	// without case).
	Address string
	// Limit is how many the window allows; Since is its start.
	Limit int
	Since time.Time
	// Now is the clock's time: the reservation expires ReservationTTL
	// later.
	Now time.Time
}

func (r *Reservation) key() string {
	if r.CompteID != "" {
		return "compte:" + r.CompteID
	}
	return "generic:" + normAddress(r.Address)
}

// Reserve counts the requests under r's limit, the decisions recorded in the
// window and the unexpired reservations of other requests, and when they are
// under the limit reserves (or renews) r.Holder's place, in one transaction
// serialized per limit key: two replicas counting the same compte at once
// take turns, so the limit holds across a cluster. It reports whether the
// place is reserved. The decision's RecordDecision (RecordCall) deletes the
// reservation in its own transaction; ReleaseReservation gives it up before.
func (db *DB) Reserve(ctx context.Context, r Reservation) (bool, error) {
	if r.Holder == "" || (r.CompteID == "") == (r.Address == "") {
		return false, errors.New("store: reservation needs a holder and one of a compte and an address")
	}
	key := r.key()
	count := `SELECT (SELECT count(*) FROM claims WHERE compte_id = ? AND outcome = ? AND decided_at >= ?)`
	args := []any{r.CompteID, rules.Issued, millis(r.Since)}
	if r.CompteID == "" {
		count = `SELECT (SELECT count(*) FROM claims WHERE reply_to = ? AND generic = 1 AND decided_at >= ?)`
		args = []any{normAddress(r.Address), millis(r.Since)}
	}
	// One statement, one snapshot: a decision recorded meanwhile is seen
	// either as its claim or as its reservation, never as neither.
	count += ` + (SELECT count(*) FROM rate_reservations WHERE rate_key = ? AND holder <> ? AND expires_at > ?)`
	args = append(args, key, r.Holder, millis(r.Now))
	ok := false
	err := db.inTx(ctx, false, func(tx *sql.Tx) error {
		if db.postgres {
			// SQLite's IMMEDIATE transaction holds the write lock already.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, rateLockKey, key); err != nil {
				return err
			}
		}
		if _, err := db.p(tx).ExecContext(ctx, `DELETE FROM rate_reservations WHERE rate_key = ? AND expires_at <= ?`,
			key, millis(r.Now)); err != nil {
			return err
		}
		var n int
		if err := db.p(tx).QueryRowContext(ctx, count, args...).Scan(&n); err != nil {
			return err
		}
		if n >= r.Limit {
			return nil
		}
		ok = true
		_, err := db.p(tx).ExecContext(ctx, `INSERT INTO rate_reservations (holder, rate_key, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (holder) DO UPDATE SET rate_key = excluded.rate_key, expires_at = excluded.expires_at`,
			r.Holder, key, millis(r.Now.Add(ReservationTTL)))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: reserve under the rate limit: %w", err)
	}
	return ok, nil
}

// rateLockKey is the first half of the advisory lock Reserve takes per limit
// key on PostgreSQL; the second is hashtext(key). Two keys with one hash
// only wait for each other.
const rateLockKey = 0x61747472

// ReleaseReservation gives up holder's reservation, if any: its decision
// will not be recorded now (rendering failed).
func (db *DB) ReleaseReservation(ctx context.Context, holder string) error {
	err := db.inTx(ctx, false, func(tx *sql.Tx) error {
		return db.deleteReservation(ctx, tx, holder)
	})
	if err != nil {
		return fmt.Errorf("store: release reservation: %w", err)
	}
	return nil
}

func (db *DB) deleteReservation(ctx context.Context, tx *sql.Tx, holder string) error {
	_, err := db.p(tx).ExecContext(ctx, `DELETE FROM rate_reservations WHERE holder = ?`, holder)
	return err
}
