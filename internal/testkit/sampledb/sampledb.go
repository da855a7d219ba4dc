// Package sampledb makes, for the tests, SQLite stores loaded with the
// sample registry (samples/registry.json). It stands apart from testkit
// because the store package's own tests import testkit. Only tests import
// it.
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
	db, _ := load(t)
	t.Cleanup(func() { db.Close() })
	return db
}

// File creates a SQLite store file in the test's temporary directory,
// loaded with the sample registry, and returns its path, the store
// closed: what runs on it opens it as a new process would.
func File(t testing.TB) string {
	t.Helper()
	db, path := load(t)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func load(t testing.TB) (*store.DB, string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "attestd.db")
	db, err := store.Open(ctx, store.DriverSQLite, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := samples.LoadInto(ctx, db); err != nil {
		db.Close()
		t.Fatal(err)
	}
	return db, path
}
