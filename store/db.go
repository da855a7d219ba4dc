package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/riverqueue/river/riverdriver"
)

// The drivers Open accepts.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Errors callers test with errors.Is.
var (
	// ErrNotFound: no claim or outbox item has the given id.
	ErrNotFound = errors.New("store: not found")
	// ErrAlreadyDecided: RecordDecision on a claim that already has its
	// decision; nothing was changed.
	ErrAlreadyDecided = errors.New("store: claim already decided")
	// ErrWrongState: the claim or outbox item is not in a state that allows
	// the requested change (for example MarkDone before RecordDecision, or
	// retrying a reply that was already sent).
	ErrWrongState = errors.New("store: wrong state for this change")
)

// DB is an open store. It is safe for concurrent use by several goroutines.
type DB struct {
	sql      *sql.DB
	postgres bool       // rebind ? to $n
	gate     *writeGate // SQLite: the process's writers queue here; nil on PostgreSQL
	stmts    stmtCache
	// checkpoints copies a SQLite file's WAL into the database in the
	// background; nil otherwise.
	checkpoints *checkpointer

	// The work queue's (river.go).
	dsn        string // as opened, with the settings Open adds
	memory     bool   // an in-memory SQLite database
	jobsMu     sync.Mutex
	jobsDriver riverdriver.Driver[*sql.Tx]
	jobsPool   *pgxpool.Pool // PostgreSQL: River's LISTEN connection
	jobsSQL    *sql.DB       // SQLite: River's own connection
	replyJobs  ReplyJobs
}

// Open connects to the store and brings its schema up to date.
//
// driver is "sqlite" (dsn: a file path, or a "file:" URI) or "postgres" (dsn:
// a pgx connection string, "postgres://user@host:5432/db?sslmode=disable").
// For SQLite, Open sets what a daemon needs unless the DSN already says
// otherwise: WAL journal, synchronous=NORMAL, a 10 s busy timeout and a WAL
// checkpointed in the background rather than by the commits (see
// checkpointer); it always turns foreign keys on and begins write
// transactions IMMEDIATE, so that two writers queue instead of failing on
// a lock upgrade.
func Open(ctx context.Context, driver, dsn string) (*DB, error) {
	var (
		sdb         *sql.DB
		err         error
		db          = &DB{}
		checkpoints bool // a SQLite file: its WAL is checkpointed in the background
	)
	switch driver {
	case DriverSQLite:
		db.gate = newWriteGate()
		var memory bool
		dsn, memory, err = sqliteDSN(dsn)
		if err != nil {
			return nil, err
		}
		sdb, err = sqliteOpen(dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		db.memory = memory
		if memory {
			// Each connection to ":memory:" is a database of its own.
			sdb.SetMaxOpenConns(1)
		} else {
			// Readers run beside the writer in WAL mode; writers queue on the
			// busy timeout. A few connections suit a daemon with a few goroutines.
			sdb.SetMaxOpenConns(4)
			sdb.SetMaxIdleConns(4)
			checkpoints = true
		}
	case DriverPostgres:
		db.postgres = true
		sdb, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		sdb.SetMaxOpenConns(8)
		sdb.SetMaxIdleConns(4)
	default:
		return nil, fmt.Errorf("store: unknown driver %q: use %q or %q", driver, DriverSQLite, DriverPostgres)
	}
	db.sql, db.dsn = sdb, dsn
	if err := ping(ctx, sdb); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("store: connect to %s: %w (check store.dsn)", driver, err)
	}
	if err := db.migrate(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	if checkpoints {
		db.startCheckpoints()
	}
	return db, nil
}

// ping connects to the database. A new SQLite connection sets WAL mode,
// which SQLite refuses at once with SQLITE_BUSY, not waiting busy_timeout,
// while another process holds a lock (another replica starting and
// migrating the same file): it is tried again for as long as busy_timeout.
func ping(ctx context.Context, sdb *sql.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := sdb.PingContext(ctx)
		var coded interface{ Code() int }
		if err == nil || !errors.As(err, &coded) || coded.Code()&0xff != 5 || time.Now().After(deadline) { // 5: SQLITE_BUSY
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Close closes the database connections.
func (db *DB) Close() error {
	db.stopCheckpoints()
	db.stmts.close()
	return errors.Join(db.closeJobs(), db.sql.Close())
}

// sqliteDSN adds the connection settings Open promises to a SQLite DSN, and
// reports whether it names an in-memory database.
func sqliteDSN(dsn string) (string, bool, error) {
	if dsn == "" {
		return "", false, errors.New("store: empty sqlite dsn: give a file path such as attestd.db")
	}
	path, rawQuery, _ := strings.Cut(dsn, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", false, fmt.Errorf("store: sqlite dsn parameters: %w", err)
	}
	has := func(pragma string) bool {
		for _, p := range q["_pragma"] {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(p)), pragma) {
				return true
			}
		}
		return false
	}
	for _, p := range []struct{ name, value string }{
		{"busy_timeout", "busy_timeout(10000)"},
		{"journal_mode", "journal_mode(WAL)"},
		{"synchronous", "synchronous(NORMAL)"},
		{"wal_autocheckpoint", fmt.Sprintf("wal_autocheckpoint(%d)", walAutoCheckpoint)},
	} {
		if !has(p.name) {
			q.Add("_pragma", p.value)
		}
	}
	// Not negotiable: the schema relies on foreign keys, and deferred
	// transactions in WAL mode fail with SQLITE_BUSY when two writers upgrade.
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	memory := path == ":memory:" || path == "file::memory:" || q.Get("mode") == "memory"
	return path + "?" + q.Encode(), memory, nil
}

// q returns query with its ? placeholders rebound for the driver in use:
// $1, $2… for PostgreSQL. Queries hold no ? inside string literals.
func (db *DB) q(query string) string {
	if !db.postgres {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn in a transaction and commits when fn returns nil. A readOnly
// transaction sees one snapshot throughout (REPEATABLE READ on PostgreSQL; a
// deferred transaction on SQLite, which takes no write lock). On SQLite a
// write transaction waits its turn at the write gate.
func (db *DB) inTx(ctx context.Context, readOnly bool, fn func(tx *sql.Tx) error) error {
	return db.tx(ctx, readOnly, false, fn)
}

// tx is inTx; an urgent write goes through the write gate before the
// writers waiting there (see writeGate).
func (db *DB) tx(ctx context.Context, readOnly, urgent bool, fn func(tx *sql.Tx) error) error {
	if !readOnly && db.gate != nil {
		db.gate.enter(urgent)
		defer db.gate.leave()
	}
	opts := &sql.TxOptions{ReadOnly: readOnly}
	if readOnly && db.postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.sql.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}
