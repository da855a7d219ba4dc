package pgtemp

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"
)

func TestWithSearchPath(t *testing.T) {
	for _, c := range []struct{ dsn, want string }{
		{"postgres://u@h:5432/db?sslmode=disable", "postgres://u@h:5432/db?search_path=s1&sslmode=disable"},
		{"postgres://u@h/db?search_path=old", "postgres://u@h/db?search_path=s1"},
		{"host=h dbname=db", "host=h dbname=db search_path=s1"},
	} {
		got, err := WithSearchPath(c.dsn, "s1")
		if err != nil || got != c.want {
			t.Errorf("WithSearchPath(%q) = %q, %v; want %q", c.dsn, got, err, c.want)
		}
	}
}

// A table made through the schema's DSN is in the schema, and Drop takes
// it away with the schema, leaving the database's public schema alone.
func TestSchema(t *testing.T) {
	dsn := os.Getenv("ATTESTD_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("ATTESTD_TEST_POSTGRES_DSN not set: PostgreSQL tests skipped")
	}
	ctx := context.Background()
	s, err := New(ctx, dsn, "pgtemp_test")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Name, "pgtemp_test_") {
		t.Errorf("schema %q", s.Name)
	}
	db, err := sql.Open("pgx", s.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (x int)"); err != nil {
		t.Fatal(err)
	}
	var where string
	if err := db.QueryRowContext(ctx, "SELECT table_schema FROM information_schema.tables WHERE table_name = 't' AND table_schema = current_schema()").Scan(&where); err != nil || where != s.Name {
		t.Fatalf("table t in schema %q (%v), want %q", where, err, s.Name)
	}
	if err := s.Drop(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", s.Name).Scan(&n); err != nil || n != 0 {
		t.Errorf("schema %s still there after Drop (%d, %v)", s.Name, n, err)
	}
}
