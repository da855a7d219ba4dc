package daemon

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cpam/attestd/inbox"
	"github.com/cpam/attestd/queue"
	"github.com/cpam/attestd/store"
)

// batchSize bounds how many messages one FETCH reads.
const batchSize = 32

// worker sweeps a mailbox over one work connection.
type worker struct {
	d *Daemon
	b *intake
	s *inbox.Session
	// waiting are messages whose reply is stored but not yet out (SMTP
	// down): they stay in the mailbox until the outbox settles them.
	waiting map[uint32]int64
	resumed bool // the ledger's open entries were looked at (resume)
	// suspects are messages claimed before this session but never
	// decided: a crash (maybe theirs) or an error interrupted them. Each is
	// decided alone (alone held for writing), so that a message that
	// brings the daemon down is not blamed on those beside it. Written
	// once (queue.Resume), before any goroutine reads it.
	suspects map[uint32]bool
	alone    sync.RWMutex
	// sem holds one token per message being handled, d.cfg.Workers in
	// all: the daemon's, shared by every mailbox's worker.
	sem chan struct{}
}

func newWorker(b *intake, s *inbox.Session) *worker {
	return &worker{d: b.d, b: b, s: s, waiting: make(map[uint32]int64), sem: b.d.sem}
}

// handled is what became of one message in a sweep.
type handled struct {
	uid   uint32
	start time.Time // when its batch was fetched
	queue.Handled
}

func (w *worker) key(uid uint32) store.MessageKey {
	return store.MessageKey{Mailbox: w.b.box.Name, UIDValidity: w.s.UIDValidity(), UID: uid}
}

// sweep handles everything in the mailbox. An error means the connection
// is unusable. Once stop is done it fetches nothing more and starts no new
// message, but finishes (replies and files) those it started: their store
// and SMTP work runs under ctx, which stopping does not cancel (losing the
// mailbox's lease does).
func (w *worker) sweep(stop, ctx context.Context) error {
	uids, err := w.s.UIDs()
	if err != nil {
		return err
	}
	w.d.obs.Polled(time.Now())
	present := make(map[uint32]bool, len(uids))
	var todo []uint32
	var done []handled
	for _, uid := range uids {
		present[uid] = true
		if claimID, ok := w.waiting[uid]; ok {
			if h, settled := w.d.queue.Settled(ctx, w.key(uid), claimID); settled {
				done = append(done, handled{uid: uid, start: time.Now(), Handled: h})
			}
			continue
		}
		todo = append(todo, uid)
	}
	for uid := range w.waiting {
		if !present[uid] {
			delete(w.waiting, uid)
		}
	}
	if !w.resumed {
		w.suspects = w.d.queue.Resume(ctx, w.b.box.Name, w.s.UIDValidity(), present)
		w.resumed = true
	}
	if err := w.file(ctx, done); err != nil {
		return err
	}
	// A batch is handled in the background while the sweep fetches the
	// next one and moves the one before: the workers need not wait for
	// Dovecot's FETCH and MOVE, nor for the last messages of a batch.
	var prev *batch
	for len(todo) > 0 && stop.Err() == nil {
		n := min(batchSize, len(todo))
		uids := todo[:n]
		todo = todo[n:]
		start := time.Now()
		fetched, err := w.s.Fetch(uids, w.d.cfg.Limits.MaxMessageBytes)
		if err != nil {
			w.wait(prev)
			return err
		}
		w.d.obs.Polled(time.Now())
		cur := w.handleAll(stop, ctx, fetched, start, prev)
		if err := w.file(ctx, w.wait(prev)); err != nil {
			w.wait(cur)
			return err
		}
		prev = cur
	}
	return w.file(ctx, w.wait(prev))
}

// batch is one FETCH's messages being handled.
type batch struct {
	out     []handled
	spawned chan struct{} // closed once every message has started (or been left)
	done    chan struct{} // closed once every message is handled
}

// handleAll starts handling a batch under ctx, at most d.cfg.Workers
// messages at once across batches, once every message of after (the
// batch before, if any) has started. Once stop is done it starts no
// more: those stay in the mailbox. A panic while handling one message is
// that message's failed attempt: it stays in the mailbox for the next
// sweep, and the others go on. wait returns the result.
func (w *worker) handleAll(stop, ctx context.Context, fetched []inbox.Fetched, start time.Time, after *batch) *batch {
	b := &batch{out: make([]handled, len(fetched)), spawned: make(chan struct{}), done: make(chan struct{})}
	go func() {
		var wg sync.WaitGroup
		defer close(b.done)
		defer wg.Wait()
		defer close(b.spawned)
		if after != nil {
			<-after.spawned
		}
		for i, f := range fetched {
			b.out[i] = handled{uid: f.UID}
			w.sem <- struct{}{}
			if stop.Err() != nil {
				<-w.sem
				continue
			}
			wg.Add(1)
			go func() {
				defer func() { <-w.sem; wg.Done() }()
				b.out[i] = w.handle(ctx, f, start)
			}()
		}
	}()
	return b
}

// handle takes one message through the queue.
func (w *worker) handle(ctx context.Context, f inbox.Fetched, start time.Time) (h handled) {
	if w.suspects[f.UID] {
		w.alone.Lock()
		defer w.alone.Unlock()
	} else {
		w.alone.RLock()
		defer w.alone.RUnlock()
	}
	defer func() {
		if r := recover(); r != nil {
			w.d.log.Error("panic while handling a message; it stays in the mailbox and is tried again",
				"uid", f.UID, "panic", fmt.Sprint(r))
			h = handled{uid: f.UID}
		}
	}()
	return handled{uid: f.UID, start: start, Handled: w.d.queue.Handle(ctx, w.key(f.UID), f.Raw)}
}

// wait waits for batch b (nil: none) and returns the messages to file;
// those that stay in the mailbox are noted (waiting for their reply) or
// counted as deferred.
func (w *worker) wait(b *batch) []handled {
	if b == nil {
		return nil
	}
	<-b.done
	var keep []handled
	for _, h := range b.out {
		if h.Folder == "" {
			if h.ClaimID != 0 {
				w.waiting[h.uid] = h.ClaimID
			} else {
				w.d.obs.MessageDeferred()
			}
			continue
		}
		keep = append(keep, h)
	}
	return keep
}

// file moves handled messages to their folders, one MOVE per folder, and
// closes their claims.
func (w *worker) file(ctx context.Context, hs []handled) error {
	byFolder := map[string][]uint32{}
	var order []string
	for _, h := range hs {
		if _, ok := byFolder[h.Folder]; !ok {
			order = append(order, h.Folder)
		}
		byFolder[h.Folder] = append(byFolder[h.Folder], h.uid)
	}
	for _, folder := range order {
		if err := w.s.Move(byFolder[folder], folder); err != nil {
			return err
		}
	}
	claims := make([]int64, 0, len(hs))
	for _, h := range hs {
		if h.ClaimID != 0 {
			claims = append(claims, h.ClaimID)
		}
	}
	w.d.queue.Filed(ctx, claims...)
	for _, h := range hs {
		delete(w.waiting, h.uid)
		w.report(Result{Key: w.key(h.uid), MessageID: h.MessageID, Outcome: h.Outcome, Folder: h.Folder,
			Channel: h.Channel, ReplyTo: h.ReplyTo, Reference: h.Reference, Detail: h.Detail, Duration: time.Since(h.start)})
	}
	return nil
}

func (w *worker) report(r Result) {
	w.d.log.Info("message handled", "mailbox", r.Key.Mailbox, "outcome", r.Outcome, "folder", r.Folder, "channel", r.Channel,
		"why", r.Detail, "reference", r.Reference, "uid", r.Key.UID, "ms", r.Duration.Milliseconds())
	w.d.obs.MessageHandled(string(r.Outcome), r.Duration)
	if w.d.results != nil {
		w.d.results <- r
	}
}
