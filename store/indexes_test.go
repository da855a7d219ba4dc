package store

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"
)

// The ledger's indexes are partial (migration 0009): a claim not yet
// decided takes no entry in most of them. The queries that need them must
// still use them: a daily limit or a console look-up that scanned the
// ledger would slow every request down as the ledger grows. On PostgreSQL
// sequential scans are switched off for the check: its planner prefers
// them on a table this small, and the question is whether the index can
// serve the query at all.
func TestLedgerQueriesUsePartialIndexes(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		since := millis(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
		for _, c := range []struct {
			what, index, query string
			args               []any
		}{
			{"the compte's attestations of the day", "claims_issued",
				`SELECT count(*) FROM claims WHERE compte_id = ? AND outcome = ? AND decided_at >= ?`, []any{"C-EVA", "issued", since}},
			{"the address's generic replies of the day", "claims_generic",
				`SELECT count(*) FROM claims WHERE reply_to = ? AND generic = 1 AND decided_at >= ?`, []any{"eva@example.org", since}},
			{"the console's statistics", "claims_decided",
				`SELECT decided_at / 3600000 AS h, outcome, count(*) FROM claims WHERE decided_at >= ? GROUP BY decided_at / 3600000, outcome`, []any{since}},
		} {
			if plan := queryPlan(t, db, c.query, c.args...); !strings.Contains(plan, c.index) {
				t.Errorf("%s does not use %s:\n%s", c.what, c.index, plan)
			}
		}
		for _, c := range []struct {
			what, index string
			f           EntryFilter
		}{
			{"the console's look-up by reference", "claims_ref", EntryFilter{Reference: "AD-20261125-X"}},
			{"the console's look-up by folder", "claims_folder", EntryFilter{Folders: []string{"Manual", "Quarantine"}}},
			{"the console's look-up by compte", "claims_issued", EntryFilter{CompteID: "C-EVA"}},
		} {
			query, args := entriesQuery(c.f)
			if plan := queryPlan(t, db, query, args...); !strings.Contains(plan, c.index) {
				t.Errorf("%s does not use %s:\n%s", c.what, c.index, plan)
			}
		}
	})
}

// queryPlan is the plan of query, as text.
func queryPlan(t *testing.T, db *DB, query string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	explain := "EXPLAIN QUERY PLAN "
	if db.postgres {
		explain = "EXPLAIN "
		if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := tx.QueryContext(ctx, db.q(explain+query), args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var plan strings.Builder
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(vals[len(vals)-1].String + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan.String()
}
