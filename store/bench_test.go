package store

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cpam/attestd/rules"
)

// BenchmarkLedgerCycle measures one message's whole way through the ledger
// on SQLite: Claim, RecordDecision with a reply, MarkSent, MarkDone. A
// request of 4 KiB and a reply of 64 KiB (text and a one-page PDF).
func BenchmarkLedgerCycle(b *testing.B) {
	benchCycle(b, openSQLite(b))
}

// BenchmarkLedgerCyclePostgres is the same against PostgreSQL, when
// ATTESTD_TEST_POSTGRES_DSN is set.
func BenchmarkLedgerCyclePostgres(b *testing.B) {
	benchCycle(b, openPostgres(b))
}

func benchCycle(b *testing.B, db *DB) {
	ctx := context.Background()
	request := bytes.Repeat([]byte("Bonjour, je souhaite une attestation de droits.\r\n"), 4096/50)
	replyRaw := bytes.Repeat([]byte("x"), 64<<10)
	now := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c, err := db.Claim(ctx, MessageKey{"INBOX", 1, uint32(i + 1)}, fmt.Sprintf("bench-%d@example.org", i), request)
		if err != nil {
			b.Fatal(err)
		}
		d := Decision{Outcome: rules.Issued, Folder: "Processed", CompteID: "C-EVA", Reference: "ref",
			ReplyTo: "eva.dupont@example.org", Reply: &OutboxMessage{From: "attestation@cpam.example",
				To: []string{"eva.dupont@example.org"}, Raw: replyRaw, MessageID: fmt.Sprintf("r%d@cpam.example", i)}}
		if err := db.RecordDecision(ctx, c.ID, d, now); err != nil {
			b.Fatal(err)
		}
		item, err := db.OutboxForClaim(ctx, c.ID)
		if err != nil {
			b.Fatal(err)
		}
		if err := db.MarkSent(ctx, item.ID, now); err != nil {
			b.Fatal(err)
		}
		if err := db.MarkDone(ctx, c.ID, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLedgerCycleParallel runs ledger cycles from several goroutines at
// once (-cpu 4: four), as the daemon's workers do: their write transactions
// queue for SQLite's one writer.
func BenchmarkLedgerCycleParallel(b *testing.B) {
	db := openSQLite(b)
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	var next atomic.Uint32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := cycle(ctx, db, next.Add(1), now); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
