package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cpam/attestd/rules"
)

// TestPreparedStatementsOnOneConnection runs whole ledger cycles from
// several goroutines on an in-memory SQLite, whose pool has one connection:
// statements first met inside a transaction must not wait for a second
// connection (a deadlock), and every cycle must end as it does unprepared.
func TestPreparedStatementsOnOneConnection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := Open(ctx, DriverSQLite, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	const goroutines, cycles = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < cycles; i++ {
				if err := cycle(ctx, db, uint32(g*cycles+i+1), now); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	counts, err := db.OutcomeCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[rules.Issued] != goroutines*cycles {
		t.Errorf("issued claims: %d, want %d", counts[rules.Issued], goroutines*cycles)
	}
	if n, err := db.CountIssuedSince(ctx, "C-EVA", now); err != nil || n != goroutines*cycles {
		t.Errorf("CountIssuedSince: %d, %v; want %d", n, err, goroutines*cycles)
	}
}

// cycle takes one message through the ledger: claim, decision with a
// reply, sent, done.
func cycle(ctx context.Context, db *DB, uid uint32, now time.Time) error {
	c, err := db.Claim(ctx, MessageKey{"INBOX", 1, uid}, fmt.Sprintf("m%d@example.org", uid), []byte("request"))
	if err != nil {
		return err
	}
	d := Decision{Outcome: rules.Issued, Folder: "Processed", CompteID: "C-EVA", Reference: fmt.Sprint("ref", uid),
		ReplyTo: "eva.dupont@example.org", Reply: &OutboxMessage{From: "attestation@cpam.example",
			To: []string{"eva.dupont@example.org"}, Raw: []byte("reply"), MessageID: fmt.Sprintf("r%d@cpam.example", uid)}}
	if err := db.RecordDecision(ctx, c.ID, d, now); err != nil {
		return err
	}
	item, err := db.OutboxForClaim(ctx, c.ID)
	if err != nil {
		return err
	}
	if err := db.MarkSent(ctx, item.ID, now); err != nil {
		return err
	}
	return db.MarkDone(ctx, c.ID, now)
}
