package testkit

import (
	"context"
	"os"
	"testing"

	"github.com/cpam/attestd/internal/pgtemp"
)

// PostgresEnv names the PostgreSQL the tests also run against, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const PostgresEnv = "ATTESTD_TEST_POSTGRES_DSN"

// PostgresSchema creates an empty schema on the PostgreSQL at PostgresEnv,
// dropped when the test ends, and returns a DSN whose connections use it
// and its name: tests neither collide nor leave anything behind. Without
// PostgresEnv the test is skipped.
func PostgresSchema(t testing.TB) (dsn, schema string) {
	t.Helper()
	dsn = os.Getenv(PostgresEnv)
	if dsn == "" {
		t.Skipf("%s not set: PostgreSQL tests skipped (set it to e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", PostgresEnv)
	}
	s, err := pgtemp.New(context.Background(), dsn, "attestd_test")
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	t.Cleanup(func() { s.Drop(context.Background()) })
	return s.DSN, s.Name
}
