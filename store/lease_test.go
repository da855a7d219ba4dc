package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cpam/attestd/rules"
)

// A lease is one holder's at a time; another takes it once it expired or
// was released, at a greater epoch; an expired lease is not renewed.
func TestLeaseTakeover(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		a, _, err := db.AcquireLease(ctx, "paris", "replica-a", time.Hour)
		if err != nil || a == nil || a.Epoch != 1 {
			t.Fatalf("first acquisition = %+v, %v; want epoch 1", a, err)
		}
		b, held, err := db.AcquireLease(ctx, "paris", "replica-b", time.Hour)
		if err != nil || b != nil {
			t.Fatalf("acquired a held lease: %+v, %v", b, err)
		}
		if held.Holder != "replica-a" || held.Left <= 0 || held.Left > time.Hour {
			t.Errorf("held = %+v, want replica-a for the rest of the hour", held)
		}
		if err := db.RenewLease(ctx, *a, time.Hour); err != nil {
			t.Errorf("renew: %v", err)
		}
		if other, _, err := db.AcquireLease(ctx, "lyon", "replica-b", time.Hour); err != nil || other == nil || other.Epoch != 1 {
			t.Errorf("another mailbox = %+v, %v; want its own lease at epoch 1", other, err)
		}

		// Released: taken at once, at the next epoch.
		if err := db.ReleaseLease(ctx, *a); err != nil {
			t.Fatal(err)
		}
		if err := db.RenewLease(ctx, *a, time.Hour); !errors.Is(err, ErrLeaseLost) {
			t.Errorf("renew after release: %v, want ErrLeaseLost", err)
		}
		b, _, err = db.AcquireLease(ctx, "paris", "replica-b", time.Millisecond)
		if err != nil || b == nil || b.Epoch != 2 {
			t.Fatalf("after release = %+v, %v; want epoch 2", b, err)
		}

		// Expired (1 ms TTL): taken by the next one; the old holder can
		// neither renew nor release it.
		time.Sleep(20 * time.Millisecond)
		if err := db.RenewLease(ctx, *b, time.Hour); !errors.Is(err, ErrLeaseLost) {
			t.Errorf("renew of an expired lease: %v, want ErrLeaseLost", err)
		}
		c, _, err := db.AcquireLease(ctx, "paris", "replica-c", time.Hour)
		if err != nil || c == nil || c.Epoch != 3 {
			t.Fatalf("after expiry = %+v, %v; want epoch 3", c, err)
		}
		if err := db.ReleaseLease(ctx, *b); err != nil {
			t.Fatal(err)
		}
		if err := db.RenewLease(ctx, *c, time.Hour); err != nil {
			t.Errorf("the old holder's release undid the new one's lease: %v", err)
		}

		// Taken from a dead holder at once, unexpired; not from another.
		if l, _, err := db.TakeLease(ctx, "paris", "replica-d", "replica-b", time.Hour); err != nil || l != nil {
			t.Errorf("taken from a holder that does not hold it: %+v, %v", l, err)
		}
		d, _, err := db.TakeLease(ctx, "paris", "replica-d", "replica-c", time.Hour)
		if err != nil || d == nil || d.Epoch != 4 {
			t.Errorf("taken from a dead holder = %+v, %v; want epoch 4", d, err)
		}
	})
}

// Replicas racing for a free lease: exactly one gets it.
func TestLeaseOneHolder(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			won []string
		)
		for _, h := range []string{"a", "b", "c", "d"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, _, err := db.AcquireLease(ctx, "paris", h, time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				if l != nil {
					mu.Lock()
					won = append(won, h)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(won) != 1 {
			t.Errorf("holders = %v, want exactly one", won)
		}
	})
}

// A holder that lost its lease (paused while it expired and another took
// it) can neither claim nor record a decision under it: the new holder
// decides. Without a lease in the context, writes are unfenced.
func TestStaleLeaseCannotDecide(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		bg := context.Background()
		old, _, err := db.AcquireLease(bg, "paris", "replica-a", time.Millisecond)
		if err != nil || old == nil {
			t.Fatal(old, err)
		}
		oldCtx := WithLease(bg, *old)
		key := MessageKey{"paris", 1700000000, 1}
		c, err := db.Claim(oldCtx, key, "req-1@example.org", []byte("raw"))
		if err != nil {
			t.Fatalf("claim under a held lease: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
		cur, _, err := db.AcquireLease(bg, "paris", "replica-b", time.Hour)
		if err != nil || cur == nil {
			t.Fatal(cur, err)
		}
		dec := Decision{Outcome: rules.NotAttestation, Folder: "Manual"}
		if err := db.RecordDecision(oldCtx, c.ID, dec, t0); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("decision under a lost lease: %v, want ErrLeaseLost", err)
		}
		if _, err := db.Claim(oldCtx, MessageKey{"paris", 1700000000, 2}, "req-2@example.org", []byte("raw")); !errors.Is(err, ErrLeaseLost) {
			t.Errorf("claim under a lost lease: %v, want ErrLeaseLost", err)
		}
		if got, _ := db.ClaimByID(bg, c.ID); got.State != StateClaimed || got.Attempts != 1 {
			t.Errorf("the stale holder changed the claim: %+v", got)
		}
		if _, found, _ := db.claimIDByKey(bg, db.sql, MessageKey{"paris", 1700000000, 2}); found {
			t.Error("the stale holder's claim was recorded")
		}
		// Another mailbox's lease does not fence paris, and the holder of
		// the current epoch decides.
		newCtx := WithLease(bg, *cur)
		if _, err := db.Claim(newCtx, key, "req-1@example.org", []byte("raw")); err != nil {
			t.Fatal(err)
		}
		if err := db.RecordDecision(newCtx, c.ID, dec, t0); err != nil {
			t.Fatalf("decision under the current lease: %v", err)
		}
		if got, _ := db.ClaimByID(bg, c.ID); got.State != StateDecided {
			t.Errorf("claim after the current holder decided: %+v", got)
		}
	})
}
