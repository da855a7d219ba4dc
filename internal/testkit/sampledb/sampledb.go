// Package sampledb opens, for the tests, a store loaded with the sample
// registry (samples/registry.json). It stands apart from testkit because
// the store package's own tests import testkit. Only tests import it.
package sampledb

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/cpam/attestd/samples"
	"github.com/cpam/attestd/store"
)

// SQLite opens a new SQLite store in the test's temporary directory,
// loaded with the sample registry and closed when the test ends.
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	db, _ := SQLiteFile(t)
	return db
}

// SQLiteFile is SQLite, also giving the store's file.
func SQLiteFile(t testing.TB) (*store.DB, string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "attestd.db")
	db, err := store.Open(ctx, "sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := samples.LoadInto(ctx, db); err != nil {
		t.Fatal(err)
	}
	return db, path
}
