package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOpenSQLiteSettings(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "attestd.db")
	db, err := Open(ctx, DriverSQLite, path)
	if err != nil {
		t.Fatal(err)
	}
	for pragma, want := range map[string]string{
		"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000", "synchronous": "1",
	} {
		var got string
		if err := db.sql.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil || got != want {
			t.Errorf("PRAGMA %s = %q, %v; want %q", pragma, got, err, want)
		}
	}
	db.Close()

	// Reopening applies no migration twice; a DSN's own setting wins.
	db, err = Open(ctx, DriverSQLite, "file:"+path+"?_pragma=busy_timeout(2500)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var busy string
	db.sql.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy)
	if busy != "2500" {
		t.Errorf("busy_timeout = %s, want the DSN's 2500", busy)
	}
	ms, err := db.migrations()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	db.sql.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n)
	if n != len(ms) || n == 0 {
		t.Errorf("%d migrations recorded, want %d", n, len(ms))
	}
}

func TestOpenInMemory(t *testing.T) {
	db, err := Open(context.Background(), DriverSQLite, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	importSample(t, db)
	if c, err := db.CompteByID(context.Background(), "C-EVA"); err != nil || c == nil {
		t.Errorf("in-memory store lost its registry: %v, %v", c, err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ driver, dsn, want string }{
		{"mysql", "x", `unknown driver "mysql"`},
		{DriverSQLite, "", "empty sqlite dsn"},
		{DriverSQLite, filepath.Join(t.TempDir(), "missing", "dir", "a.db"), "check store.dsn"},
		{DriverPostgres, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", "check store.dsn"},
	} {
		db, err := Open(ctx, tc.driver, tc.dsn)
		if err == nil {
			db.Close()
			t.Errorf("Open(%s, %q) succeeded", tc.driver, tc.dsn)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%s, %q): %v, want it to say %q", tc.driver, tc.dsn, err, tc.want)
		}
	}
}

func TestRebind(t *testing.T) {
	pg := &DB{postgres: true}
	if got := pg.q("SELECT a FROM t WHERE b = ? AND c IN (?, ?)"); got != "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)" {
		t.Errorf("postgres: %s", got)
	}
	lite := &DB{}
	if got := lite.q("b = ?"); got != "b = ?" {
		t.Errorf("sqlite: %s", got)
	}
}

func TestSplitSQL(t *testing.T) {
	got := splitSQL("-- header; not a statement\nCREATE TABLE a (\n\tx TEXT -- comment\n);\n\nCREATE INDEX i ON a (x);\n")
	want := []string{"CREATE TABLE a (\n\tx TEXT\n)", "CREATE INDEX i ON a (x)"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

// The WAL is copied into the database file in the background: a commit no
// longer does it (and its fsync) while holding the write lock, and the
// file holds what was written well before the WAL reaches
// wal_autocheckpoint.
func TestSQLiteWALCheckpointedInTheBackground(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "attestd.db")
	db, err := Open(ctx, DriverSQLite, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var auto int
	if err := db.sql.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != walAutoCheckpoint {
		t.Errorf("PRAGMA wal_autocheckpoint = %d, %v; want %d", auto, err, walAutoCheckpoint)
	}
	before := fileSize(t, path)
	// 2 MB in 50 transactions: about 500 pages, under the WAL size at
	// which a commit would checkpoint (SQLite's default is 1,000 pages).
	const n, size = 50, 40 << 10
	for i := range n {
		key := MessageKey{Mailbox: "INBOX", UIDValidity: 1, UID: uint32(i + 1)}
		if _, err := db.Claim(ctx, key, fmt.Sprintf("m%d@example.org", i), bytes.Repeat([]byte{byte(i)}, size)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for fileSize(t, path) < before+n*size {
		if time.Now().After(deadline) {
			t.Fatalf("the database file is %d bytes, %d before %d KB were committed: the WAL was not checkpointed",
				fileSize(t, path), before, n*size>>10)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
