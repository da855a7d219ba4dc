package store

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cpam/attestd/rules"
)

// A store made before migration 0007 kept each reply's content in its
// outbox row: the migration moves it to outbox_bodies, where the outbox
// reads it, and a reply pending at the upgrade still goes out whole.
func TestMigration0007KeepsPendingReplies(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "attestd.db")
	db, err := Open(ctx, DriverSQLite, path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	item := decided(t, db, 1, rules.Issued, t0)
	// Back to the schema before 0007, the content in the outbox row.
	for _, s := range []string{
		`ALTER TABLE outbox ADD COLUMN raw BLOB`,
		`UPDATE outbox SET raw = (SELECT raw FROM outbox_bodies WHERE outbox_id = outbox.id)`,
		`DROP TABLE outbox_bodies`,
		`DELETE FROM schema_migrations WHERE version = 7`,
	} {
		if _, err := db.sql.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	db.Close()

	db, err = Open(ctx, DriverSQLite, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.OutboxForClaim(ctx, item.ClaimID)
	if err != nil || got == nil {
		t.Fatalf("after the upgrade: %v, %v", got, err)
	}
	if got.State != OutboxPending || !bytes.Equal(got.Raw, item.Raw) {
		t.Errorf("after the upgrade: state %s, %d bytes of content; want pending with the %d bytes stored before", got.State, len(got.Raw), len(item.Raw))
	}
	if err := db.MarkSent(ctx, got.ID, t0); err != nil {
		t.Fatal(err)
	}
}

// A reply recorded sent keeps its content, read from the row of its own
// that no state change rewrites.
func TestMarkSentKeepsTheContent(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
		item := decided(t, db, 1, rules.Issued, t0)
		if err := db.MarkSent(ctx, item.ID, t0); err != nil {
			t.Fatal(err)
		}
		got, err := db.OutboxForClaim(ctx, item.ClaimID)
		if err != nil || got.State != OutboxSent || !bytes.Equal(got.Raw, item.Raw) {
			t.Fatalf("after MarkSent: %+v, %v", got, err)
		}
	})
}
