package store

import "sync"

// writeGate queues the writes of one process to a SQLite store, recording a
// reply sent first.
//
// SQLite has one writer at a time; a transaction that finds the lock taken
// sleeps in SQLite's busy handler (1, 2, 5, 10... ms) however soon the lock
// is free. For MarkSent that sleep is the window in which a crash sends
// the reply twice: the relay has it, the store does not know yet. Queued
// here, a writer starts the moment the previous one ends, and MarkSent
// goes before the writers that are waiting: its wait is at most the rest
// of one transaction. Reads go straight to the database (SQLite's WAL lets
// them run beside the writer); PostgreSQL has no gate.
type writeGate struct {
	mu     sync.Mutex
	cond   *sync.Cond
	busy   bool
	urgent int    // MarkSent calls waiting
	writes uint64 // write transactions ended, for the checkpointer
	// wrote has a token once a write transaction ended since the
	// checkpointer last took it: it sleeps on it rather than on a ticker.
	wrote chan struct{}
}

func newWriteGate() *writeGate {
	g := &writeGate{wrote: make(chan struct{}, 1)}
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
	g.writes++
	g.mu.Unlock()
	g.cond.Broadcast()
	select {
	case g.wrote <- struct{}{}:
	default:
	}
}

// written returns how many write transactions have ended.
func (g *writeGate) written() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.writes
}
