package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/cpam/attestd/rules"
)

// decided claims a message and records a decision with a reply; it returns
// the reply's outbox item.
func decided(t *testing.T, db *DB, uid uint32, outcome rules.Outcome, at time.Time) *OutboxItem {
	t.Helper()
	ctx := context.Background()
	c := claim(t, db, MessageKey{"INBOX", 1, uid}, "req-"+string(rune('a'+uid))+"@x")
	d := Decision{Outcome: outcome, Folder: "Processed", Reply: reply("eva.dupont@example.org", "r-"+c.MessageID)}
	if err := db.RecordDecision(ctx, c.ID, d, at); err != nil {
		t.Fatal(err)
	}
	item, err := db.OutboxForClaim(ctx, c.ID)
	if err != nil || item == nil {
		t.Fatalf("outbox item: %v, %v", item, err)
	}
	return item
}

func outboxState(t *testing.T, db *DB, id int64) OutboxItem {
	t.Helper()
	items, err := db.ListOutbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.ID == id {
			if it.Raw != nil {
				t.Errorf("ListOutbox returned the content of item %d", id)
			}
			return it
		}
	}
	t.Fatalf("outbox item %d not listed", id)
	return OutboxItem{}
}

func dueIDs(t *testing.T, db *DB, now time.Time) []int64 {
	t.Helper()
	items, err := db.DueOutbox(context.Background(), now, 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, it := range items {
		if len(it.Raw) == 0 {
			t.Errorf("due item %d without its content", it.ID)
		}
		ids = append(ids, it.ID)
	}
	return ids
}

func TestOutboxStateMachine(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		it := decided(t, db, 1, rules.Issued, t0)
		other := decided(t, db, 2, rules.RightsClosed, t0.Add(time.Second))

		if ids := dueIDs(t, db, t0.Add(-time.Millisecond)); len(ids) != 0 {
			t.Errorf("due before their time: %v", ids)
		}
		if ids := dueIDs(t, db, t0.Add(time.Minute)); len(ids) != 2 || ids[0] != it.ID || ids[1] != other.ID {
			t.Errorf("due = %v, want [%d %d], oldest first", ids, it.ID, other.ID)
		}
		if n, _ := db.OutboxDepth(ctx); n != 2 {
			t.Errorf("depth = %d, want 2", n)
		}

		// A temporary failure: retried later.
		next := t0.Add(5 * time.Minute)
		if err := db.MarkRetry(ctx, it.ID, "421 4.3.0 try again later", next); err != nil {
			t.Fatal(err)
		}
		got := outboxState(t, db, it.ID)
		if got.State != OutboxPending || got.Attempts != 1 || got.LastError != "421 4.3.0 try again later" || !got.NextAttempt.Equal(next) {
			t.Errorf("after retry: %+v", got)
		}
		if ids := dueIDs(t, db, t0.Add(time.Minute)); len(ids) != 1 || ids[0] != other.ID {
			t.Errorf("due before the retry time = %v, want only %d", ids, other.ID)
		}
		if ids := dueIDs(t, db, next); len(ids) != 2 {
			t.Errorf("due at the retry time = %v", ids)
		}

		// A permanent failure: kept for operators, never due.
		failedAt := t0.Add(6 * time.Minute)
		if err := db.MarkPermanent(ctx, it.ID, "550 5.1.1 no such user", failedAt); err != nil {
			t.Fatal(err)
		}
		got = outboxState(t, db, it.ID)
		if got.State != OutboxPermanent || got.Attempts != 2 || got.LastError != "550 5.1.1 no such user" ||
			!got.Updated.Equal(failedAt) || got.Outcome != rules.Issued {
			t.Errorf("after permanent failure: %+v", got)
		}
		if ids := dueIDs(t, db, t0.Add(time.Hour)); len(ids) != 1 || ids[0] != other.ID {
			t.Errorf("due = %v, want only %d", ids, other.ID)
		}
		if perm, _ := db.ListOutbox(ctx, OutboxPermanent); len(perm) != 1 || perm[0].ID != it.ID {
			t.Errorf("permanent list = %+v", perm)
		}
		for name, err := range map[string]error{
			"sent":  db.MarkSent(ctx, it.ID, failedAt),
			"retry": db.MarkRetry(ctx, it.ID, "x", failedAt),
		} {
			if !errors.Is(err, ErrWrongState) {
				t.Errorf("%s on a permanent failure: %v, want ErrWrongState", name, err)
			}
		}
		if err := db.MarkPermanent(ctx, it.ID, "x", failedAt.Add(time.Second)); err != nil {
			t.Errorf("permanent twice: %v, want no error", err)
		}
		if again := outboxState(t, db, it.ID); !reflect.DeepEqual(again, got) {
			t.Errorf("permanent twice changed the item: %+v", again)
		}

		// The operator retries: due now, with a fresh budget.
		retried := t0.Add(time.Hour)
		if err := db.RetryOutbox(ctx, it.ID, retried); err != nil {
			t.Fatal(err)
		}
		got = outboxState(t, db, it.ID)
		if got.State != OutboxPending || got.Attempts != 0 || !got.NextAttempt.Equal(retried) || got.LastError == "" {
			t.Errorf("after operator retry: %+v", got)
		}

		// Sent: once.
		sentAt := retried.Add(time.Second)
		if err := db.MarkSent(ctx, it.ID, sentAt); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkSent(ctx, it.ID, sentAt.Add(time.Second)); err != nil {
			t.Errorf("sent twice: %v, want no error", err)
		}
		got = outboxState(t, db, it.ID)
		if got.State != OutboxSent || got.Attempts != 1 || !got.SentAt.Equal(sentAt) || !got.Created.Equal(t0) {
			t.Errorf("after sent: %+v", got)
		}
		if err := db.RetryOutbox(ctx, it.ID, sentAt); !errors.Is(err, ErrWrongState) {
			t.Errorf("retry of a sent reply: %v, want ErrWrongState (it would go out twice)", err)
		}
		if err := db.MarkRetry(ctx, it.ID, "x", sentAt); !errors.Is(err, ErrWrongState) {
			t.Errorf("retry mark on a sent reply: %v, want ErrWrongState", err)
		}
		if n, _ := db.OutboxDepth(ctx); n != 1 {
			t.Errorf("depth = %d, want 1", n)
		}
		if all, _ := db.ListOutbox(ctx); len(all) != 2 {
			t.Errorf("all = %d items, want 2", len(all))
		}
		if sent, _ := db.ListOutbox(ctx, OutboxSent, OutboxPermanent); len(sent) != 1 || sent[0].ID != it.ID {
			t.Errorf("sent or permanent = %+v", sent)
		}

		for name, err := range map[string]error{
			"sent":  db.MarkSent(ctx, 999999, t0),
			"retry": db.MarkRetry(ctx, 999999, "x", t0),
			"fail":  db.MarkPermanent(ctx, 999999, "x", t0),
			"again": db.RetryOutbox(ctx, 999999, t0),
		} {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("%s on an unknown item: %v, want ErrNotFound", name, err)
			}
		}
		if _, err := db.ListOutbox(ctx, "lost"); err == nil {
			t.Error("unknown state listed without error")
		}
	})
}

// A purged reply cannot be retried: there is nothing left to send.
func TestRetryOutboxPurged(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		it := decided(t, db, 1, rules.Issued, t0)
		if err := db.MarkPermanent(ctx, it.ID, "550 no", t0); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkDone(ctx, it.ClaimID, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := db.PurgeRaw(ctx, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		err := db.RetryOutbox(ctx, it.ID, t0.Add(time.Hour))
		if !errors.Is(err, ErrWrongState) {
			t.Errorf("retry of a purged reply: %v, want ErrWrongState", err)
		}
	})
}
