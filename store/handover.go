package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The sent handover (table sent_handover) notes the replies handed to the
// relay whose acceptance is not recorded yet: the database's counterpart of
// the queue's file journal, which every replica of a cluster reads. MarkSent
// deletes the note in its transaction.

// NoteHandover notes that holder handed reply outboxID to the relay at at.
// It commits at once: it runs in the instant between the final dot and the
// relay's answer, so it is as short as can be. On SQLite it is one
// autocommitted statement. On PostgreSQL the commit does not wait for the
// WAL flush (synchronous_commit off for this transaction): the note is
// visible to every session at once and survives the death of the attestd
// process, which is what it is for; only a crash of PostgreSQL itself in
// the next few hundred milliseconds loses it (the reply is then sent again,
// as with the file journal on a power loss). That makes the note a few
// round trips (under a millisecond) instead of a flush (milliseconds).
// Noting a reply noted already changes nothing.
func (db *DB) NoteHandover(ctx context.Context, outboxID int64, holder string, at time.Time) error {
	const insert = `INSERT INTO sent_handover (outbox_id, holder, at) VALUES (?, ?, ?) ON CONFLICT (outbox_id) DO NOTHING`
	var err error
	if db.postgres {
		err = db.inTx(ctx, false, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit TO OFF`); err != nil {
				return err
			}
			_, err := db.p(tx).ExecContext(ctx, insert, outboxID, holder, millis(at))
			return err
		})
	} else {
		_, err = db.p(db.sql).ExecContext(ctx, insert, outboxID, holder, millis(at))
	}
	if err != nil {
		return fmt.Errorf("store: note handover of reply %d: %w", outboxID, err)
	}
	return nil
}

// ForgetHandover deletes the note of reply outboxID: the relay refused it
// after all, it may be sent again.
func (db *DB) ForgetHandover(ctx context.Context, outboxID int64) error {
	_, err := db.p(db.sql).ExecContext(ctx, `DELETE FROM sent_handover WHERE outbox_id = ?`, outboxID)
	if err != nil {
		return fmt.Errorf("store: forget handover of reply %d: %w", outboxID, err)
	}
	return nil
}

// HandedOver reports whether reply outboxID is noted as handed to the
// relay (by any process) and not yet recorded.
func (db *DB) HandedOver(ctx context.Context, outboxID int64) (bool, error) {
	var one int
	err := db.p(db.sql).QueryRowContext(ctx, `SELECT 1 FROM sent_handover WHERE outbox_id = ?`, outboxID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: read handover of reply %d: %w", outboxID, err)
	}
	return true, nil
}

// Handovers returns the replies noted as handed over and not recorded:
// what a start records as sent before sending anything.
func (db *DB) Handovers(ctx context.Context) ([]int64, error) {
	ids, err := db.queryIDs(ctx, `SELECT outbox_id FROM sent_handover ORDER BY outbox_id`)
	if err != nil {
		return nil, fmt.Errorf("store: read handovers: %w", err)
	}
	return ids, nil
}

// queryIDs runs a query of one integer column and returns its values.
func (db *DB) queryIDs(ctx context.Context, query string, args ...any) ([]int64, error) {
	rows, err := db.p(db.sql).QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
