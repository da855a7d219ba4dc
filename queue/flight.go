package queue

import "sync"

// flight is what this process is doing right now, so that two goroutines
// never act on one message or one reply at once: the worker's goroutines
// (two copies of a message in one batch) and the reply jobs (retrying a
// reply the worker is sending). The ledger says what was done; flight says
// what is being done, and is lost with the process, as it should be.
type flight struct {
	mu      sync.Mutex
	claims  map[int64]bool // claims being handled
	sending map[int64]bool // outbox items being sent
	// unrecorded are replies the relay accepted but whose MarkSent failed:
	// this process only records them, it never sends them again.
	unrecorded map[int64]bool
}

func newFlight() *flight {
	return &flight{claims: map[int64]bool{}, sending: map[int64]bool{}, unrecorded: map[int64]bool{}}
}

// take marks id busy in set; false when it already was.
func (f *flight) take(set map[int64]bool, id int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if set[id] {
		return false
	}
	set[id] = true
	return true
}

func (f *flight) release(set map[int64]bool, id int64) {
	f.mu.Lock()
	delete(set, id)
	f.mu.Unlock()
}

// startClaim reserves a claim for one goroutine; false: another has it.
func (f *flight) startClaim(id int64) bool { return f.take(f.claims, id) }

func (f *flight) endClaim(id int64) { f.release(f.claims, id) }

// startSend reserves an outbox item for one goroutine; false: another is
// sending it.
func (f *flight) startSend(id int64) bool { return f.take(f.sending, id) }

func (f *flight) endSend(id int64) { f.release(f.sending, id) }

// setUnrecorded notes (or, with sent false, forgets) that the relay took a
// reply that the store does not know as sent yet.
func (f *flight) setUnrecorded(id int64, sent bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if sent {
		f.unrecorded[id] = true
	} else {
		delete(f.unrecorded, id)
	}
}

func (f *flight) isUnrecorded(id int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unrecorded[id]
}
