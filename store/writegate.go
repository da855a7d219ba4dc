package daemon

import (
	"context"
	"sync"
	"time"

	"github.com/cpam/attestd/store"
)

// writeGate queues the daemon's own writes to a SQLite store in the
// process, recording a reply sent first.
//
// SQLite has one writer at a time; a transaction that finds the lock taken
// sleeps in SQLite's busy handler (1, 2, 5, 10... ms) however soon the lock
// is free. For MarkSent that sleep is the window in which a crash sends
// the reply twice: the relay has it, the store does not know yet. Queued
// here, a writer starts the moment the previous one ends, and MarkSent
// goes before the writers that are waiting: its wait is at most the rest
// of one transaction.
type writeGate struct {
	mu     sync.Mutex
	cond   *sync.Cond
	busy   bool
	urgent int // MarkSent calls waiting
}

func newWriteGate() *writeGate {
	g := &writeGate{}
	g.cond = sync.NewCond(&g.mu)
	return g
}

func (g *writeGate) enter(urgent bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if urgent {
		g.urgent++
		defer func() { g.urgent-- }()
	}
	for g.busy || !urgent && g.urgent > 0 {
		g.cond.Wait()
	}
	g.busy = true
}

func (g *writeGate) leave() {
	g.mu.Lock()
	g.busy = false
	g.mu.Unlock()
	g.cond.Broadcast()
}

// gatedStore passes the writes of a Store through a writeGate; reads go
// straight to it (SQLite's WAL lets them run beside the writer).
type gatedStore struct {
	Store
	g *writeGate
}

func (s gatedStore) Claim(ctx context.Context, key store.MessageKey, messageID string, raw []byte) (*store.Claim, error) {
	s.g.enter(false)
	defer s.g.leave()
	return s.Store.Claim(ctx, key, messageID, raw)
}

func (s gatedStore) RecordCall(ctx context.Context, callID string, d store.Decision, now time.Time) (int64, error) {
	s.g.enter(false)
	defer s.g.leave()
	return s.Store.RecordCall(ctx, callID, d, now)
}

func (s gatedStore) ReopenClaim(ctx context.Context, claimID int64, folders []string, e store.AuditEntry) error {
	s.g.enter(false)
	defer s.g.leave()
	return s.Store.ReopenClaim(ctx, claimID, folders, e)
}

func (s gatedStore) RecordDecision(ctx context.Context, claimID int64, d store.Decision, now time.Time) error {
	s.g.enter(false)
	defer s.g.leave()
	return s.Store.RecordDecision(ctx, claimID, d, now)
}

func (s gatedStore) MarkDone(ctx context.Context, claimID int64, now time.Time) error {
	s.g.enter(false)
	defer s.g.leave()
	return s.Store.MarkDone(ctx, claimID, now)
}

func (s gatedStore) MarkSent(ctx context.Context, id int64, now time.Time) error {
	s.g.enter(true)
	defer s.g.leave()
	return s.Store.MarkSent(ctx, id, now)
}

func (s gatedStore) MarkRetry(ctx context.Context, id int64, errText string, next time.Time) error {
	s.g.enter(false)
	defer s.g.leave()
	return s.Store.MarkRetry(ctx, id, errText, next)
}

func (s gatedStore) MarkPermanent(ctx context.Context, id int64, errText string, now time.Time) error {
	s.g.enter(false)
	defer s.g.leave()
	return s.Store.MarkPermanent(ctx, id, errText, now)
}

func (s gatedStore) PurgeRaw(ctx context.Context, before time.Time) (int64, error) {
	s.g.enter(false)
	defer s.g.leave()
	return s.Store.PurgeRaw(ctx, before)
}
