package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Senders (migration 0008): which node may be handing each pending reply
// to the relay, so that another replica does not send it again before that
// node has read its sent journal.
//
// A node is one replica with its local sent journal (outbox.journal), named
// the same across its restarts; boot counts its runs. RecordDecision marks
// the reply it stores with the deciding node and boot (Decision.Sender);
// any other sender takes the reply over with TakeSend first, which
// succeeds only when the mark is no one's, the caller's own run's, a run
// whose node has since started again and read its journal (Replayed), or
// older than the wait given: the node did not come back.

// Sender names a node's run: the mark a reply carries while that run may
// hand it to the relay. The zero Sender marks nothing.
type Sender struct {
	Node string
	Boot int64
}

// Boot counts a new run of node and returns its number: the Boot of the
// marks this run makes. Call Replayed once its journal has been read.
func (db *DB) Boot(ctx context.Context, node string) (int64, error) {
	var boot int64
	err := db.inTx(ctx, false, func(tx *sql.Tx) error {
		return db.p(tx).QueryRowContext(ctx, `INSERT INTO senders (node, boot, replayed) VALUES (?, 1, 0)
			ON CONFLICT (node) DO UPDATE SET boot = senders.boot + 1 RETURNING boot`, node).Scan(&boot)
	})
	if err != nil {
		return 0, fmt.Errorf("store: count a run of this node: %w", err)
	}
	return boot, nil
}

// Replayed records that run boot of node has read its sent journal and
// recorded what it names: the marks of its earlier runs are settled, and
// other replicas may send their replies.
func (db *DB) Replayed(ctx context.Context, node string, boot int64) error {
	err := db.inTx(ctx, false, func(tx *sql.Tx) error {
		_, err := db.p(tx).ExecContext(ctx, `UPDATE senders SET replayed = ? WHERE node = ? AND replayed < ?`, boot, node, boot)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: record that this node read its sent journal: %w", err)
	}
	return nil
}

// TakeSend marks pending reply outboxID as being sent by s, unless another
// node's run may still be handing it to the relay: one marked it, has not
// started again and read its journal since, and marked it less than wait
// ago (by the database's clock). false: not taken, try again later.
func (db *DB) TakeSend(ctx context.Context, outboxID int64, s Sender, wait time.Duration) (bool, error) {
	now := db.dbNow()
	var n int64
	err := db.inTx(ctx, false, func(tx *sql.Tx) error {
		res, err := db.p(tx).ExecContext(ctx, `UPDATE outbox SET sender = ?, sender_boot = ?, sending_since = `+now+`
			WHERE id = ? AND state = ? AND (
				sender = '' OR (sender = ? AND sender_boot = ?)
				OR sender_boot < COALESCE((SELECT replayed FROM senders WHERE senders.node = outbox.sender), 0)
				OR sending_since < `+now+` - ?)`,
			s.Node, s.Boot, outboxID, OutboxPending, s.Node, s.Boot, wait.Milliseconds())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: take reply %d to send: %w", outboxID, err)
	}
	return n == 1, nil
}
