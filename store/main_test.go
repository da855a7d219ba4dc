package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/cpam/attestd/internal/testkit"
)

// forEachDB runs test against a fresh SQLite file and, when testkit.PostgresEnv is
// set, a fresh PostgreSQL schema: one test suite, two databases.
func forEachDB(t *testing.T, test func(t *testing.T, db *DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { test(t, openSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { test(t, openPostgres(t)) })
}

func openSQLite(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), DriverSQLite, filepath.Join(t.TempDir(), "attestd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openPostgres opens the store in a schema of its own, dropped at the end of
// the test, so that tests neither collide nor leave anything behind.
func openPostgres(t testing.TB) *DB {
	t.Helper()
	ctx := context.Background()
	dsn, schema := freshSchema(t)
	db, err := Open(ctx, DriverPostgres, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var got string
	if err := db.sql.QueryRowContext(ctx, "SELECT current_schema()").Scan(&got); err != nil || got != schema {
		t.Fatalf("store opened in schema %q (%v), want %q", got, err, schema)
	}
	return db
}

// freshSchema creates an empty PostgreSQL schema, dropped at the end of the
// test, and returns a DSN whose connections use it.
func freshSchema(t testing.TB) (dsn, schema string) { return testkit.PostgresSchema(t) }

// abortInserts makes the database itself refuse inserts into table whose new
// row matches cond (an SQL condition on NEW), to test that a failure in the
// middle of a transaction leaves nothing behind.
func abortInserts(t *testing.T, db *DB, table, cond string) {
	t.Helper()
	name := "abort_" + table
	stmts := []string{fmt.Sprintf(`CREATE TRIGGER %s BEFORE INSERT ON %s WHEN %s BEGIN SELECT RAISE(ABORT, 'test abort'); END`,
		name, table, cond)}
	if db.postgres {
		stmts = []string{
			fmt.Sprintf(`CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'test abort'; END $$`, name),
			fmt.Sprintf(`CREATE TRIGGER %s BEFORE INSERT ON %s FOR EACH ROW WHEN (%s) EXECUTE FUNCTION %s()`, name, table, cond, name),
		}
	}
	for _, s := range stmts {
		if _, err := db.sql.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}
