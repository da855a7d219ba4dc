package queue

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cpam/attestd/internal/testkit"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
)

// twoReplicas opens one database twice, as two replicas of a cluster
// would, on SQLite and on PostgreSQL.
func twoReplicas(t *testing.T, test func(t *testing.T, a, b *store.DB)) {
	open := func(t *testing.T, driver, dsn string) *store.DB {
		db, err := store.Open(context.Background(), driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "attestd.db")
		test(t, open(t, store.DriverSQLite, path), open(t, store.DriverSQLite, path))
	})
	t.Run("postgres", func(t *testing.T) {
		dsn, _ := testkit.PostgresSchema(t)
		test(t, open(t, store.DriverPostgres, dsn), open(t, store.DriverPostgres, dsn))
	})
}

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// pendingReply stores a decided message with a reply and returns the reply.
func pendingReply(t *testing.T, db *store.DB, uid uint32) *store.OutboxItem {
	t.Helper()
	return markedReply(t, db, uid, store.Sender{})
}

// markedReply is pendingReply with the reply marked as sent by s.
func markedReply(t *testing.T, db *store.DB, uid uint32, s store.Sender) *store.OutboxItem {
	t.Helper()
	ctx := context.Background()
	c, err := db.Claim(ctx, store.MessageKey{Mailbox: "INBOX", UIDValidity: 1, UID: uid}, "", []byte{byte(uid)})
	if err != nil {
		t.Fatal(err)
	}
	err = db.RecordDecision(ctx, c.ID, store.Decision{Outcome: rules.SenderUnknown, Folder: "Processed", Sender: s,
		Reply: &store.OutboxMessage{From: "attestation@cpam.example", To: []string{"jean@example.net"}, Raw: []byte("Subject: x\r\n\r\nx\r\n")}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	it, err := db.OutboxForClaim(ctx, c.ID)
	if err != nil || it == nil {
		t.Fatalf("reply of claim %d: %v, %v", c.ID, it, err)
	}
	return it
}

// The database journal's note is what another replica reads: noted the
// instant the dot is out, gone when the relay refuses or the reply is
// recorded sent.
func TestDBJournalSeenByAnotherReplica(t *testing.T) {
	twoReplicas(t, func(t *testing.T, a, b *store.DB) {
		ctx := context.Background()
		ja, jb := newDBJournal(a, func() time.Time { return t0 }), newDBJournal(b, time.Now)
		r1, r2 := pendingReply(t, a, 1), pendingReply(t, a, 2)
		noted := func(id int64) bool {
			t.Helper()
			ok, err := jb.noted(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		for _, id := range []int64{r1.ID, r2.ID} {
			note, done := ja.prepare(id)
			note()
			if ok, err := done(); !ok || err != nil {
				t.Fatalf("note of reply %d: %v, %v", id, ok, err)
			}
		}
		if !noted(r1.ID) || !noted(r2.ID) {
			t.Fatal("another replica does not see the replies handed over")
		}
		if left, _ := jb.left(ctx); !slices.Equal(left, []int64{r1.ID, r2.ID}) {
			t.Errorf("a replica starting now finds %v, want [%d %d]", left, r1.ID, r2.ID)
		}
		if err := ja.refused(r1.ID); err != nil {
			t.Fatal(err)
		}
		if noted(r1.ID) {
			t.Error("a reply the relay refused is still noted: it would never be sent")
		}
		if err := a.MarkSent(ctx, r2.ID, t0); err != nil {
			t.Fatal(err)
		}
		if noted(r2.ID) {
			t.Error("a reply recorded sent is still noted")
		}
	})
}

// countingMailer counts what it is asked to send and accepts it.
type countingMailer struct{ n atomic.Int32 }

func (m *countingMailer) Send(context.Context, string, []string, []byte) error {
	m.n.Add(1)
	return nil
}

type noDecider struct{}

func (noDecider) Decide(context.Context, string, []byte, string, time.Time) (Verdict, error) {
	panic("not deciding here")
}
func (noDecider) GiveUp(string, []byte, string, time.Time) Verdict { panic("not deciding here") }

// A replica killed between the dot and recording the reply left its note:
// another replica about to send that reply (its outbox job, or the message
// resumed) records it instead, and one starting records it at once.
func TestDBJournalNoResendByAnotherReplica(t *testing.T) {
	twoReplicas(t, func(t *testing.T, a, b *store.DB) {
		ctx := context.Background()
		killed := newDBJournal(a, time.Now)
		r1, r2 := pendingReply(t, a, 1), pendingReply(t, a, 2)
		for _, id := range []int64{r1.ID, r2.ID} {
			note, _ := killed.prepare(id)
			note() // then the replica dies: no MarkSent
		}
		m := &countingMailer{}
		q, err := New(Options{Store: b, Mailer: m, Decider: noDecider{}, Handover: b, Now: time.Now,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if got := q.Deliver(ctx, r1); got != store.OutboxSent {
			t.Errorf("reply handed over by a dead replica: %s, want it recorded sent", got)
		}
		q.Recover(ctx)
		if it, _ := b.OutboxForClaim(ctx, r2.ClaimID); it.State != store.OutboxSent {
			t.Errorf("after a start, the reply a dead replica handed over is %s, want sent", it.State)
		}
		if n := m.n.Load(); n != 0 {
			t.Errorf("%d replies sent again", n)
		}
		if left, _ := b.Handovers(ctx); len(left) != 0 {
			t.Errorf("notes left: %v", left)
		}
	})
}

// BenchmarkJournalNote measures the duplicate window: the time the note
// takes between the final dot and its being durable (file: a write(2);
// database: an autocommitted insert).
func BenchmarkJournalNote(b *testing.B) {
	run := func(b *testing.B, j handover) {
		b.ResetTimer()
		for i := range b.N {
			note, done := j.prepare(int64(i + 1))
			note()
			if _, err := done(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("file", func(b *testing.B) {
		j, _, err := openJournal(filepath.Join(b.TempDir(), "j.sent"))
		if err != nil {
			b.Fatal(err)
		}
		defer j.Close()
		run(b, j)
	})
	for _, driver := range []string{store.DriverSQLite, store.DriverPostgres} {
		b.Run("database-"+driver, func(b *testing.B) {
			dsn := filepath.Join(b.TempDir(), "attestd.db")
			if driver == store.DriverPostgres {
				if os.Getenv(testkit.PostgresEnv) == "" {
					b.Skip("no PostgreSQL")
				}
				dsn, _ = testkit.PostgresSchema(b)
			}
			db, err := store.Open(context.Background(), driver, dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			run(b, newDBJournal(db, time.Now))
		})
	}
}
