package queue

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/cpam/attestd/outbox"
	"github.com/cpam/attestd/store"
)

// node is one node of a cluster: its queue over db, with its own sent
// journal file (and the database's note beside it, as on PostgreSQL).
func node(t *testing.T, db *store.DB, dir, node string, m Mailer, wait time.Duration) *Queue {
	t.Helper()
	q, err := New(Options{Store: db, Mailer: m, Decider: noDecider{}, Handover: db, Senders: db, Node: node,
		SenderWait: wait, JournalPath: filepath.Join(dir, node+".sent"), Now: time.Now,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	q.Recover(context.Background())
	if q.sender.Boot == 0 {
		t.Fatalf("replica %s: no run counted", node)
	}
	return q
}

// decidedBy stores a decided message whose reply q sends at once, as its
// worker would have recorded it.
func decidedBy(t *testing.T, q *Queue, db *store.DB, uid uint32) *store.OutboxItem {
	t.Helper()
	it := markedReply(t, db, uid, q.sender)
	if it.Sender != q.sender {
		t.Fatalf("reply marked %+v, want the deciding run %+v", it.Sender, q.sender)
	}
	return it
}

// killedAfterDot is replica q killed the instant after its file note: the
// relay has the reply, the database's note never committed.
func killedAfterDot(t *testing.T, q *Queue, id int64) {
	t.Helper()
	if err := q.journal.(*bothJournal).file.handed(id); err != nil {
		t.Fatal(err)
	}
	q.Close()
}

func state(t *testing.T, db *store.DB, it *store.OutboxItem) string {
	t.Helper()
	cur, err := db.OutboxForClaim(context.Background(), it.ClaimID)
	if err != nil {
		t.Fatal(err)
	}
	return cur.State
}

// A replica killed between the final dot and its database note leaves
// only its local file note. Another replica does not send that reply while
// the dead one may have handed it over: it waits for it to start again,
// which reads its file and records the reply sent. The relay gets it once.
func TestSenderMarkWaitsForTheKilledReplica(t *testing.T) {
	twoReplicas(t, func(t *testing.T, a, b *store.DB) {
		ctx, dir := context.Background(), t.TempDir()
		qa := node(t, a, dir, "host:a", &countingMailer{}, time.Hour)
		r := decidedBy(t, qa, a, 1)
		killedAfterDot(t, qa, r.ID)

		m := &countingMailer{}
		qb := node(t, b, dir, "host:b", m, time.Hour)
		if got := qb.Deliver(ctx, r); got != store.OutboxPending || m.n.Load() != 0 {
			t.Fatalf("another replica delivered the reply of a replica killed after its dot: %s, %d sent", got, m.n.Load())
		}
		node(t, a, dir, "host:a", &countingMailer{}, time.Hour) // the killed replica starts again
		if got := qb.Deliver(ctx, r); got != store.OutboxSent {
			t.Errorf("after the killed replica read its journal the reply is %s, want sent", got)
		}
		if n := m.n.Load(); n != 0 {
			t.Errorf("the relay got the reply %d more times", n)
		}
	})
}

// A replica killed before its dot went out: once it has started again and
// found no note, another replica sends the reply, once.
func TestSenderMarkReleasedByTheRestart(t *testing.T) {
	twoReplicas(t, func(t *testing.T, a, b *store.DB) {
		ctx, dir := context.Background(), t.TempDir()
		qa := node(t, a, dir, "host:a", &countingMailer{}, time.Hour)
		r := decidedBy(t, qa, a, 1)
		qa.Close() // killed before the dot

		m := &countingMailer{}
		qb := node(t, b, dir, "host:b", m, time.Hour)
		if got := qb.Deliver(ctx, r); got != store.OutboxPending || m.n.Load() != 0 {
			t.Fatalf("sent while the deciding replica may be sending: %s, %d sent", got, m.n.Load())
		}
		node(t, a, dir, "host:a", &countingMailer{}, time.Hour)
		if got := qb.Deliver(ctx, r); got != store.OutboxSent || m.n.Load() != 1 {
			t.Errorf("after the restart: %s, %d sent; want sent once", got, m.n.Load())
		}
		if got := state(t, a, r); got != store.OutboxSent {
			t.Errorf("reply %s, want sent", got)
		}
	})
}

// A replica that never comes back holds its replies for outbox.sender_wait
// only: then another replica sends them.
func TestSenderMarkExpires(t *testing.T) {
	twoReplicas(t, func(t *testing.T, a, b *store.DB) {
		ctx, dir := context.Background(), t.TempDir()
		qa := node(t, a, dir, "host:a", &countingMailer{}, time.Hour)
		r := decidedBy(t, qa, a, 1)
		qa.Close()

		m := &countingMailer{}
		qb := node(t, b, dir, "host:b", m, 50*time.Millisecond)
		time.Sleep(100 * time.Millisecond) // the database's clock passes the wait
		if got := qb.Deliver(ctx, r); got != store.OutboxSent || m.n.Load() != 1 {
			t.Errorf("a reply of a replica gone for good: %s, %d sent; want sent once", got, m.n.Load())
		}
	})
}

// The mark holds only during an attempt: a temporary failure ends it, and
// the retry may run on any replica at once; and the database's note, when
// it committed, settles the reply without waiting for anyone.
func TestSenderMarkEndsWithTheAttempt(t *testing.T) {
	twoReplicas(t, func(t *testing.T, a, b *store.DB) {
		ctx, dir := context.Background(), t.TempDir()
		failing := &failingMailer{}
		qa := node(t, a, dir, "host:a", failing, time.Hour)
		r1, r2 := decidedBy(t, qa, a, 1), decidedBy(t, qa, a, 2)
		if got := qa.Deliver(ctx, r1); got != store.OutboxPending {
			t.Fatalf("after a 451: %s", got)
		}
		note, done := qa.journal.prepare(r2.ID)
		note() // file and database notes, then killed
		done()

		m := &countingMailer{}
		qb := node(t, b, dir, "host:b", m, time.Hour)
		cur, _ := b.OutboxForClaim(ctx, r1.ClaimID)
		if got := qb.Deliver(ctx, cur); got != store.OutboxSent || m.n.Load() != 1 {
			t.Errorf("retry of a reply whose attempt failed: %s, %d sent; want sent once", got, m.n.Load())
		}
		if got := qb.Deliver(ctx, r2); got != store.OutboxSent || m.n.Load() != 1 {
			t.Errorf("reply noted in the database: %s, %d sent in all; want recorded, not sent", got, m.n.Load())
		}
	})
}

// failingMailer answers every reply with a 451.
type failingMailer struct{}

func (failingMailer) Send(context.Context, string, []string, []byte) error {
	return &outbox.SendError{Temporary: true, Code: 451, Stage: "data", Msg: "try again later"}
}
