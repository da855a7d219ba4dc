package store

import (
	"context"
	"time"
)

// walCheckpointEvery is how long the background checkpointer lets writes
// gather after a write before it copies a SQLite store's WAL into the
// database file: while writes go on, a checkpoint every walCheckpointEvery.
const walCheckpointEvery = 200 * time.Millisecond

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
// after a write transaction ends (the writes of that interval together),
// until Close. Errors are left to the round after the next write (a
// checkpoint of another process running, say). It sleeps until a write
// wakes it, without a ticker: an idle daemon's timers cost it CPU at each
// wake-up (docs/performance.md, idle CPU).
func (db *DB) startCheckpoints() {
	c := &checkpointer{stop: make(chan struct{}), done: make(chan struct{})}
	db.checkpoints = c
	go func() {
		defer close(c.done)
		t := time.NewTimer(walCheckpointEvery)
		t.Stop()
		var done uint64 // writes checkpointed
		for {
			select {
			case <-c.stop:
				return
			case <-db.gate.wrote:
			}
			t.Reset(walCheckpointEvery)
			select {
			case <-c.stop:
				t.Stop()
				return
			case <-t.C:
			}
			if n := db.gate.written(); n != done {
				if _, err := db.sql.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`); err == nil {
					done = n
				}
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
