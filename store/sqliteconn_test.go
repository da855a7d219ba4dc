package store

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
)

// A statement run by text while the rows of the same text are still being
// read, on the same connection (a transaction), reads its own rows: the
// kept statement is not taken from under the first.
func TestSQLiteKeptStatementReadWhileRunAgain(t *testing.T) {
	db := openSQLite(t)
	ctx := context.Background()
	const q = `SELECT value FROM json_each(?) ORDER BY key`
	err := db.inTx(ctx, true, func(tx *sql.Tx) error {
		outer, err := tx.QueryContext(ctx, q, `[1,2,3]`)
		if err != nil {
			return err
		}
		defer outer.Close()
		var got []string
		for outer.Next() {
			var v int
			if err := outer.Scan(&v); err != nil {
				return err
			}
			var inner []int
			rows, err := tx.QueryContext(ctx, q, fmt.Sprintf(`[%d,%d]`, v*10, v*10+1))
			if err != nil {
				return err
			}
			for rows.Next() {
				var w int
				if err := rows.Scan(&w); err != nil {
					return err
				}
				inner = append(inner, w)
			}
			if err := rows.Close(); err != nil {
				return err
			}
			got = append(got, fmt.Sprint(v, inner))
		}
		if err := outer.Err(); err != nil {
			return err
		}
		if want := "[1 [10 11] 2 [20 21] 3 [30 31]]"; fmt.Sprint(got) != want {
			t.Errorf("got %v, want %s", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// More distinct statements than a connection keeps: each still runs, with
// its own arguments, and one kept earlier gives its result again.
func TestSQLiteKeptStatementsBounded(t *testing.T) {
	db := openSQLite(t)
	ctx := context.Background()
	err := db.inTx(ctx, true, func(tx *sql.Tx) error { // one connection
		for round := range 2 {
			for i := range 3 * connStmtsMax {
				var got int
				q := fmt.Sprintf(`SELECT ? + %d`, i)
				if err := tx.QueryRowContext(ctx, q, round).Scan(&got); err != nil {
					return err
				}
				if got != i+round {
					t.Fatalf("%s with %d = %d, want %d", q, round, got, i+round)
				}
				if _, err := tx.ExecContext(ctx, `SELECT 1 WHERE ? = ?`, i, round); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
