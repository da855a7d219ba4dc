package daemon

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-message/textproto"

	"github.com/cpam/attestd/inbox"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
	"github.com/cpam/attestd/templates/reply"
)

// batchSize bounds how many messages one FETCH reads.
const batchSize = 32

// worker sweeps the mailbox over one work connection.
type worker struct {
	d *Daemon
	s *inbox.Session
	// waiting are messages whose reply is stored but not yet out (SMTP
	// down): they stay in the mailbox until the outbox settles them.
	waiting map[uint32]int64
	resumed bool // the ledger's open entries were looked at (resume)
	// suspects are messages claimed before this session but never
	// decided: a crash (maybe theirs) or an error interrupted them. Each is
	// decided alone (alone held for writing), so that a message that
	// brings the daemon down is not blamed on those beside it. Written
	// by resume only, before any goroutine reads it.
	suspects map[uint32]bool
	alone    sync.RWMutex
}

func newWorker(d *Daemon, s *inbox.Session) *worker {
	return &worker{d: d, s: s, waiting: make(map[uint32]int64), suspects: make(map[uint32]bool)}
}

// handled is what became of one message in a sweep.
type handled struct {
	uid     uint32
	claimID int64
	folder  string // "" : stays in the mailbox for now
	start   time.Time
	result  Result
}

func (w *worker) key(uid uint32) store.MessageKey {
	return store.MessageKey{Mailbox: w.d.cfg.IMAP.Mailbox, UIDValidity: w.s.UIDValidity(), UID: uid}
}

// sweep handles everything in the mailbox. An error means the connection
// is unusable. Once ctx is done it fetches nothing more and starts no new
// message, but finishes (replies and files) those it started: their store
// and SMTP work runs under a context that stopping does not cancel.
func (w *worker) sweep(ctx context.Context) error {
	stop, ctx := ctx, context.WithoutCancel(ctx)
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
			if h, settled := w.settled(ctx, uid, claimID); settled {
				done = append(done, h)
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
		w.resume(ctx, present)
		w.resumed = true
	}
	if err := w.file(ctx, done); err != nil {
		return err
	}
	for len(todo) > 0 && stop.Err() == nil {
		n := min(batchSize, len(todo))
		batch := todo[:n]
		todo = todo[n:]
		start := time.Now()
		fetched, err := w.s.Fetch(batch, w.d.cfg.Limits.MaxMessageBytes)
		if err != nil {
			return err
		}
		w.d.obs.Polled(time.Now())
		hs := w.handleAll(stop, ctx, fetched, start)
		if err := w.file(ctx, hs); err != nil {
			return err
		}
	}
	return nil
}

// handleAll decides a batch, d.cfg.Workers messages at a time, under ctx.
// Once stop is done it starts no more: those stay in the mailbox. A panic
// while handling one message is that message's failed attempt: it stays in
// the mailbox for the next sweep, and the others go on.
func (w *worker) handleAll(stop, ctx context.Context, fetched []inbox.Fetched, start time.Time) []handled {
	out := make([]handled, len(fetched))
	sem := make(chan struct{}, w.d.cfg.Workers)
	var wg sync.WaitGroup
	for i, f := range fetched {
		out[i] = handled{uid: f.UID}
		sem <- struct{}{}
		if stop.Err() != nil {
			<-sem
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
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
					out[i] = handled{uid: f.UID}
				}
			}()
			out[i] = w.handle(ctx, f, start)
		}()
	}
	wg.Wait()
	var keep []handled
	for _, h := range out {
		if h.folder == "" {
			if h.claimID != 0 {
				w.waiting[h.uid] = h.claimID
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
		if _, ok := byFolder[h.folder]; !ok {
			order = append(order, h.folder)
		}
		byFolder[h.folder] = append(byFolder[h.folder], h.uid)
	}
	for _, folder := range order {
		if err := w.s.Move(byFolder[folder], folder); err != nil {
			return err
		}
	}
	now := w.d.now()
	for _, h := range hs {
		delete(w.waiting, h.uid)
		if h.claimID != 0 {
			if err := w.d.store.MarkDone(ctx, h.claimID, now); err != nil && !errors.Is(err, store.ErrWrongState) {
				w.d.log.Warn("ledger: message filed but its claim not closed", "claim", h.claimID, "err", err)
			}
		}
		h.result.Duration = time.Since(h.start)
		w.report(h.result)
	}
	return nil
}

func (w *worker) report(r Result) {
	w.d.log.Info("message handled", "outcome", r.Outcome, "folder", r.Folder, "channel", r.Channel,
		"why", r.Detail, "reference", r.Reference, "uid", r.Key.UID, "ms", r.Duration.Milliseconds())
	w.d.obs.MessageHandled(string(r.Outcome), r.Duration)
	if w.d.results != nil {
		w.d.results <- r
	}
}

// settled checks on a message waiting for its reply.
func (w *worker) settled(ctx context.Context, uid uint32, claimID int64) (handled, bool) {
	item, err := w.d.store.OutboxForClaim(ctx, claimID)
	if err != nil || item == nil || item.State == store.OutboxPending {
		return handled{}, false
	}
	c, err := w.d.store.Claim(ctx, w.key(uid), "", nil)
	if err != nil {
		return handled{}, false
	}
	return w.filed(uid, c, item, time.Now()), true
}

// filed builds the record of a decided message about to be filed.
func (w *worker) filed(uid uint32, c *store.Claim, item *store.OutboxItem, start time.Time) handled {
	r := Result{Key: w.key(uid), MessageID: c.MessageID, Outcome: c.Outcome, Folder: c.Folder, Reference: c.Reference}
	if item != nil && item.State == store.OutboxSent && len(item.To) > 0 {
		r.ReplyTo = item.To[0]
	}
	return handled{uid: uid, claimID: c.ID, folder: c.Folder, start: start, result: r}
}

// handle takes one message through claim, decision, storage and sending.
// A message that cannot be decided now (internal error) stays in the
// mailbox and is retried at the next sweep, until its attempts run out.
func (w *worker) handle(ctx context.Context, f inbox.Fetched, start time.Time) handled {
	d := w.d
	key := w.key(f.UID)
	msgID := headerMessageID(f.Raw, key)
	c, err := d.store.Claim(ctx, key, msgID, f.Raw)
	if err != nil {
		d.log.Warn("ledger: cannot claim message, will retry", "uid", f.UID, "err", err)
		return handled{uid: f.UID}
	}
	if c.Duplicate && c.State == store.StateDone {
		d.log.Info("message already handled under another UID: filed without a second reply", "uid", f.UID, "claim", c.ID)
		return handled{uid: f.UID, folder: c.Folder, start: start,
			result: Result{Key: key, MessageID: c.MessageID, Outcome: rules.Suppressed, Folder: c.Folder,
				Detail: "copy of a message already handled"}}
	}
	if !d.flight.startClaim(c.ID) {
		// Another copy of this message is being handled right now; this
		// one is looked at again at the next sweep.
		return handled{uid: f.UID}
	}
	defer d.flight.endClaim(c.ID)
	if c.Duplicate {
		// Its first copy is gone (a UIDVALIDITY reset) or not handled yet:
		// this one carries the message from where the ledger left it, so
		// it is neither dropped unanswered nor answered twice.
		d.log.Info("message seen again under another key (UIDVALIDITY reset or a copy): its handling goes on here",
			"uid", f.UID, "claim", c.ID, "state", c.State)
	}
	switch c.State {
	case store.StateDone:
		return w.filed(f.UID, c, nil, start)
	case store.StateDecided:
		return w.send(ctx, f.UID, c, start)
	}
	now := d.now()
	var v verdict
	if c.Attempts > d.cfg.Limits.MaxAttempts {
		v = d.failed(f.Raw, msgID, now)
	} else {
		v, err = d.decide(ctx, f.Raw, msgID, now)
		if err != nil {
			d.log.Warn("cannot decide message now, will retry", "uid", f.UID, "attempt", c.Attempts, "err", err)
			return handled{uid: f.UID}
		}
	}
	dec := store.Decision{Outcome: v.Outcome, Folder: v.Folder, CompteID: v.CompteID, Reference: v.Reference,
		ReplyTo: v.ReplyTo, Generic: v.Generic, Reply: v.Reply, Channel: string(v.Channel), Detail: v.Detail}
	if v.Reply == nil {
		dec.ReplyTo = ""
	}
	err = d.store.RecordDecision(ctx, c.ID, dec, now)
	if v.release != nil {
		v.release() // recorded, or abandoned: the store's count has it now, or never will
	}
	if err != nil && !errors.Is(err, store.ErrAlreadyDecided) {
		d.log.Warn("ledger: cannot record the decision, will retry", "uid", f.UID, "err", err)
		return handled{uid: f.UID}
	}
	c, err = d.store.Claim(ctx, key, msgID, nil)
	if err != nil {
		return handled{uid: f.UID}
	}
	h := w.send(ctx, f.UID, c, start)
	h.result.Channel, h.result.Detail = v.Channel, v.Detail
	return h
}

// send delivers the stored reply of a decided message, if any and not yet
// out, and says where the message goes.
func (w *worker) send(ctx context.Context, uid uint32, c *store.Claim, start time.Time) handled {
	item, err := w.d.store.OutboxForClaim(ctx, c.ID)
	if err != nil {
		return handled{uid: uid, claimID: c.ID}
	}
	if item != nil && item.State == store.OutboxPending {
		if item.Attempts > 0 {
			return handled{uid: uid, claimID: c.ID} // the outbox job retries
		}
		if item.State = w.d.deliver(ctx, item); item.State == store.OutboxPending {
			return handled{uid: uid, claimID: c.ID}
		}
	}
	return w.filed(uid, c, item, start)
}

// failed is the verdict for a message whose attempts ran out: the generic
// "n'a pas abouti" reply to its sender, the original to the manual folder.
// When even reading the message panics, it is the verdict without a reply.
func (d *Daemon) failed(raw []byte, msgID string, now time.Time) (v verdict) {
	v = verdict{Outcome: rules.Failed, Folder: d.cfg.IMAP.Folders.Manual, Detail: "attempts exhausted"}
	defer func() {
		if r := recover(); r != nil {
			d.log.Error("panic while composing the failed reply; the message goes to the manual folder unanswered", "panic", fmt.Sprint(r))
			v = verdict{Outcome: rules.Failed, Folder: d.cfg.IMAP.Folders.Manual, Detail: "attempts exhausted, unreadable"}
		}
	}()
	msg, err := inbox.ParseMessage(raw, d.limits)
	if err != nil || d.suppression(msg) != "" || msg.From == "" {
		return v
	}
	v.ReplyTo = msg.From
	v.Reference = reference(msgID, d.today(now))
	body, err := d.replies.Generic(reply.GenericData{Outcome: v.Outcome, Reference: v.Reference, Service: d.service})
	if err != nil {
		return v
	}
	if v2, err := d.withReply(v, msg, Identity{}, body, nil, now); err == nil {
		return v2
	}
	return v
}

// headerMessageID reads the Message-ID from the header only; without one,
// the ledger's second key is a digest of the whole message.
func headerMessageID(raw []byte, key store.MessageKey) string {
	if raw == nil {
		return "oversize:" + key.Mailbox + ":" + itoa(key.UIDValidity) + ":" + itoa(key.UID)
	}
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err == nil {
		id := strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
		if id != "" && !strings.ContainsAny(id, " \r\n") {
			return id
		}
	}
	return store.MessageDigest(raw)
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }
