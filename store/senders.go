package store

import (
	"context"
	"database/sql"
	"errors"
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

// Taken is what TakeSend found.
type Taken int

const (
	// NotTaken: another node's run may still be handing the reply over
	// (or it is no longer pending): try again later.
	NotTaken Taken = iota
	// TakenFree: the reply had no mark, the caller's own, or one of a run
	// of the caller's node.
	TakenFree
	// TakenReplayed: its node has started again and read its journal since
	// it marked the reply: had the dot gone out, the reply would be
	// recorded sent.
	TakenReplayed
	// TakenExpired: its node did not come back within the wait; if it had
	// handed the reply over, the recipient gets it twice.
	TakenExpired
)

// TakeSend marks pending reply outboxID as being sent by s, unless another
// node's run may still be handing it to the relay: one marked it, has not
// started again and read its journal since, and marked it less than wait
// ago (by the database's clock). NotTaken: try again later.
func (db *DB) TakeSend(ctx context.Context, outboxID int64, s Sender, wait time.Duration) (Taken, error) {
	now := db.dbNow()
	taken := NotTaken
	err := db.inTx(ctx, false, func(tx *sql.Tx) error {
		var (
			mark     Sender
			replayed int64
			age      int64
		)
		err := db.p(tx).QueryRowContext(ctx, `SELECT o.sender, o.sender_boot, COALESCE(n.replayed, 0), `+now+` - o.sending_since
			FROM outbox o LEFT JOIN senders n ON n.node = o.sender WHERE o.id = ? AND o.state = ?`,
			outboxID, OutboxPending).Scan(&mark.Node, &mark.Boot, &replayed, &age)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil // settled meanwhile
		case err != nil:
			return err
		case mark.Node == "" || mark.Node == s.Node:
			taken = TakenFree
		case mark.Boot < replayed:
			taken = TakenReplayed
		case age > wait.Milliseconds():
			taken = TakenExpired
		default:
			return nil
		}
		// Compare and set: another replica may take it in between.
		res, err := db.p(tx).ExecContext(ctx, `UPDATE outbox SET sender = ?, sender_boot = ?, sending_since = `+now+`
			WHERE id = ? AND state = ? AND sender = ? AND sender_boot = ?`,
			s.Node, s.Boot, outboxID, OutboxPending, mark.Node, mark.Boot)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			taken = NotTaken
			return err
		}
		return nil
	})
	if err != nil {
		return NotTaken, fmt.Errorf("store: take reply %d to send: %w", outboxID, err)
	}
	return taken, nil
}
