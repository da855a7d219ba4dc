package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cpam/attestd/rules"
)

func TestReserve(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
		since := t0.Add(-24 * time.Hour)
		// reserver reserves for holder under compte's limit at now.
		reserver := func(compte string, limit int) func(holder string, now time.Time) bool {
			return func(holder string, now time.Time) bool {
				t.Helper()
				ok, err := db.Reserve(ctx, Reservation{Holder: holder, CompteID: compte, Limit: limit, Since: now.Add(-24 * time.Hour), Now: now})
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
		}
		eva := reserver("C-EVA", 2)
		if !eva("a", t0) || !eva("b", t0) {
			t.Fatal("the first two requests of a limit of 2 refused")
		}
		if eva("c", t0) {
			t.Error("a third request reserved beyond a limit of 2")
		}
		if !eva("a", t0.Add(time.Second)) {
			t.Error("a request resumed after a crash lost its own reservation")
		}
		// Another compte and another limit are counted apart.
		if ok, err := db.Reserve(ctx, Reservation{Holder: "c", CompteID: "C-BENOIT", Limit: 2, Since: since, Now: t0}); !ok || err != nil {
			t.Errorf("another compte: %v, %v", ok, err)
		}
		if ok, err := db.Reserve(ctx, Reservation{Holder: "g", Address: "Jean@Example.net", Limit: 1, Since: since, Now: t0}); !ok || err != nil {
			t.Errorf("generic reply: %v, %v", ok, err)
		}
		if ok, _ := db.Reserve(ctx, Reservation{Holder: "h", Address: "jean@example.net", Limit: 1, Since: since, Now: t0}); ok {
			t.Error("a second generic reply to one address (case aside) reserved beyond a limit of 1")
		}

		// Recording a decision turns the reservation into a count: still 2.
		ca := claim(t, db, MessageKey{"INBOX", 1, 1}, "a")
		if err := db.RecordDecision(ctx, ca.ID, Decision{Outcome: rules.Issued, Folder: "Processed", CompteID: "C-EVA"}, t0); err != nil {
			t.Fatal(err)
		}
		if eva("d", t0) {
			t.Error("reserved beyond the limit once a reserved request was recorded")
		}
		// A request given up frees its place.
		if err := db.ReleaseReservation(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if !eva("d", t0) {
			t.Error("a released place is not free")
		}
		// An API call's reservation goes with its record.
		if _, err := db.RecordCall(ctx, "d", Decision{Outcome: rules.Issued, Folder: "api", CompteID: "C-EVA"}, t0); err != nil {
			t.Fatal(err)
		}
		var left int
		db.sql.QueryRowContext(ctx, `SELECT count(*) FROM rate_reservations WHERE rate_key LIKE 'compte:C-EVA'`).Scan(&left)
		if left != 0 {
			t.Errorf("%d reservations of C-EVA left once every reserved request was recorded", left)
		}
		if eva("e", t0) {
			t.Error("reserved beyond a limit of 2 with 2 recorded")
		}

		// A reservation whose replica died expires.
		lea := reserver("C-LEA", 1)
		if !lea("x", t0) {
			t.Fatal("first request of C-LEA refused")
		}
		if lea("y", t0.Add(ReservationTTL-time.Millisecond)) {
			t.Error("reserved beyond the limit before the other reservation expired")
		}
		if !lea("y", t0.Add(ReservationTTL)) {
			t.Error("an expired reservation still holds its place")
		}
	})
}

// TestReserveAcrossProcesses: three stores opened on one database (three
// replicas) reserve for one compte at once: exactly the limit gets through.
func TestReserveAcrossProcesses(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "attestd.db")
		reserveAcross(t, func() (*DB, error) { return Open(context.Background(), DriverSQLite, path) })
	})
	t.Run("postgres", func(t *testing.T) {
		dsn, _ := freshSchema(t)
		reserveAcross(t, func() (*DB, error) { return Open(context.Background(), DriverPostgres, dsn) })
	})
}

func reserveAcross(t *testing.T, open func() (*DB, error)) {
	const replicas, requests, limit, rounds = 3, 8, 2, 5
	ctx := context.Background()
	dbs := make([]*DB, replicas)
	for i := range dbs {
		db, err := open()
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs[i] = db
	}
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	for round := range rounds {
		compte := fmt.Sprintf("C-%d", round)
		var (
			wg  sync.WaitGroup
			got atomic.Int32
		)
		start := make(chan struct{})
		for i := range requests {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ok, err := dbs[i%replicas].Reserve(ctx, Reservation{Holder: fmt.Sprintf("%s-%d", compte, i), CompteID: compte,
					Limit: limit, Since: now.Add(-24 * time.Hour), Now: now})
				if err != nil {
					t.Error(err)
				}
				if ok {
					got.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		if n := got.Load(); n != limit {
			t.Errorf("round %d: %d of %d requests reserved, want exactly %d", round, n, requests, limit)
		}
	}
}
