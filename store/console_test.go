package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cpam/attestd/rules"
)

// TestConsoleQueries runs the console's queries and the API's ledger rows
// on both drivers (migration 0002).
func TestConsoleQueries(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		at := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
		id, err := db.RecordCall(ctx, "api:1", Decision{Outcome: rules.Issued, Folder: "api", CompteID: "C-EVA",
			Reference: "AD-20261125-AAAAAAAAAA", Channel: "api"}, at)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := db.CountIssuedSince(ctx, "C-EVA", at.Add(-time.Hour)); n != 1 {
			t.Errorf("an issued API call counts %d toward the compte's limit, want 1", n)
		}
		c := claim(t, db, MessageKey{"INBOX", 1, 7}, "req-manual@x")
		d := Decision{Outcome: rules.Failed, Folder: "Manual", Detail: "attempts exhausted", Channel: "direct",
			Reply: reply("eva.dupont@example.org", "r-manual")}
		if err := db.RecordDecision(ctx, c.ID, d, at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := db.ReopenClaim(ctx, c.ID, []string{"Manual"}, AuditEntry{At: at, Who: "alice"}); !errors.Is(err, ErrWrongState) {
			t.Errorf("reopen while decided, reply pending: %v, want ErrWrongState", err)
		}
		it, _ := db.OutboxForClaim(ctx, c.ID)
		if err := db.MarkSent(ctx, it.ID, at); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkDone(ctx, c.ID, at); err != nil {
			t.Fatal(err)
		}
		rows, err := db.Entries(ctx, EntryFilter{Folders: []string{"Manual", "Quarantine"}})
		if err != nil || len(rows) != 1 || rows[0].ID != c.ID || rows[0].Detail != "attempts exhausted" || rows[0].Channel != "direct" {
			t.Fatalf("Manual entries: %+v, %v", rows, err)
		}
		if rows, _ := db.Entries(ctx, EntryFilter{Reference: "AD-20261125-AAAAAAAAAA"}); len(rows) != 1 || rows[0].ID != id || rows[0].Channel != "api" {
			t.Errorf("by reference: %+v", rows)
		}
		hours, err := db.OutcomesPerHour(ctx, at.Add(-time.Hour))
		if err != nil || len(hours) != 2 || hours[0].Hour != at.Truncate(time.Hour) || hours[1].Outcome != rules.Failed {
			t.Errorf("outcomes per hour: %+v, %v", hours, err)
		}
		if err := db.MarkHandled(ctx, c.ID, "alice", "vu", at); err != nil {
			t.Fatal(err)
		}
		if err := db.ReopenClaim(ctx, c.ID, []string{"Manual"}, AuditEntry{At: at, Who: "alice", Comment: "encore"}); err != nil {
			t.Fatal(err)
		}
		e, _, err := db.EntryByID(ctx, c.ID)
		if err != nil || e.State != StateClaimed || e.Outcome != "" || !e.Handled.IsZero() {
			t.Errorf("reopened claim: %+v, %v", e, err)
		}
		if it, _ := db.OutboxForClaim(ctx, c.ID); it != nil {
			t.Errorf("the earlier reply is still the claim's: %+v", it)
		}
		log, err := db.AuditLog(ctx, c.ID, 10)
		if err != nil || len(log) != 2 || log[0].Action != AuditRetry || !strings.Contains(log[0].Comment, "sent") || log[1].Action != AuditHandled {
			t.Errorf("audit log: %+v, %v", log, err)
		}
	})
}
