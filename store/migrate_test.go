package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
)

// Replicas of a cluster start at once on an empty database: every one of
// them must open it, the schema applied once, and another component's
// migrations run under the same lock (WithMigrationLock) applied once too.
func TestOpenConcurrently(t *testing.T) {
	const replicas = 6
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "attestd.db")
		openConcurrently(t, replicas, DriverSQLite, path)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn, _ := freshSchema(t)
		openConcurrently(t, replicas, DriverPostgres, dsn)
	})
}

func openConcurrently(t *testing.T, replicas int, driver, dsn string) {
	ctx := context.Background()
	// otherMigrate stands for rivermigrate: a table of its own created if
	// missing and a version row inserted if absent, unsafe unless serialized.
	otherMigrate := func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS other_migration (version INTEGER NOT NULL)`); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM other_migration`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO other_migration (version) VALUES (1)`)
		return err
	}
	var (
		wg   sync.WaitGroup
		dbs  = make([]*DB, replicas)
		errs = make([]error, replicas)
	)
	start := make(chan struct{})
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			dbs[i], errs[i] = Open(ctx, driver, dsn)
			if errs[i] == nil {
				errs[i] = dbs[i].WithMigrationLock(ctx, otherMigrate)
			}
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if dbs[i] != nil {
			defer dbs[i].Close()
		}
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	if t.Failed() {
		return
	}
	db := dbs[0]
	ms, err := db.migrations()
	if err != nil {
		t.Fatal(err)
	}
	var n, other int
	if err := db.sql.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != len(ms) {
		t.Errorf("%d migrations recorded (%v), want %d", n, err, len(ms))
	}
	if err := db.sql.QueryRowContext(ctx, "SELECT count(*) FROM other_migration").Scan(&other); err != nil || other != 1 {
		t.Errorf("the other component's migration applied %d times (%v), want once", other, err)
	}
}
