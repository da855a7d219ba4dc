package store

import (
	"context"
	"time"
)

// walCheckpointEvery is how long the background checkpointer lets writes
// gather before it copies a SQLite store's WAL into the database file:
// while writes go on, a checkpoint every walCheckpointEvery or so.
const walCheckpointEvery = 200 * time.Millisecond

// walCheckpointWrites is how many write transactions make a checkpoint
// due at once, and walCheckpointLazy how long fewer may wait: a daemon
// with nothing to do still renews its mailbox leases every second, and a
// checkpoint for each renewal would cost more than the renewal.
const (
	walCheckpointWrites = 32
	walCheckpointLazy   = 10 * time.Second
)

// walAutoCheckpoint is the WAL size, in pages, at which a commit still
// checkpoints by itself: a safety net for when the background
// checkpointer cannot finish (a long read holding old pages), ten times
// SQLite's default.
const walAutoCheckpoint = 10000

// checkpointer copies the WAL into the database file in the background.
//
// Left to SQLite, the commit that takes the WAL past 1,000 pages
// checkpoints it, and fsyncs the database file, while it still holds the
// write lock: every writer of the process waits at the write gate
// meanwhile. In a burst on Dovecot and Mailpit (docs/performance.md, wait
// profile) that fsync was 29 % of the time the gate was held. A PASSIVE
// checkpoint takes no write lock: writers go on beside it.
type checkpointer struct {
	stop, done chan struct{}
}

// startCheckpoints runs PRAGMA wal_checkpoint(PASSIVE) walCheckpointEvery
// after walCheckpointWrites write transactions have ended since the last
// checkpoint, or once the oldest write not checkpointed is
// walCheckpointLazy old, until Close. A checkpoint that fails is tried
// again the same way (a checkpoint of another process running, say).
// Without writes it sleeps, without a ticker: each wake-up of an idle
// daemon costs CPU (docs/performance.md, idle CPU).
func (db *DB) startCheckpoints() {
	c := &checkpointer{stop: make(chan struct{}), done: make(chan struct{})}
	db.checkpoints = c
	go func() {
		defer close(c.done)
		t := time.NewTimer(walCheckpointEvery)
		t.Stop()
		var (
			done   uint64    // writes checkpointed
			oldest time.Time // when the first write not checkpointed was seen; zero: none
		)
		for {
			var lazy <-chan time.Time
			if !oldest.IsZero() {
				t.Reset(time.Until(oldest.Add(walCheckpointLazy)))
				lazy = t.C
			}
			select {
			case <-c.stop:
				return
			case <-lazy:
			case <-db.gate.wrote:
				t.Stop()
				if oldest.IsZero() {
					oldest = time.Now()
				}
				if db.gate.written()-done < walCheckpointWrites && time.Since(oldest) < walCheckpointLazy {
					continue
				}
			}
			t.Reset(walCheckpointEvery) // let the writes of a burst gather
			select {
			case <-c.stop:
				t.Stop()
				return
			case <-t.C:
			}
			n := db.gate.written()
			if _, err := db.sql.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`); err == nil {
				done, oldest = n, time.Time{}
			}
		}
	}()
}

// stopCheckpoints stops the checkpointer, if any, and waits for it.
func (db *DB) stopCheckpoints() {
	if c := db.checkpoints; c != nil {
		close(c.stop)
		<-c.done
		db.checkpoints = nil
	}
}
