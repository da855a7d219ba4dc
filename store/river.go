package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// The store holds the tables of the work queue too (River, package queue):
// its migrations run at Open, beside the store's own, and the queue's
// client reaches the database through [DB.JobsDriver]. Both databases give
// a River driver over database/sql, so that a job is inserted in the very
// *sql.Tx that changes the reply (riversqlite; riverdatabasesql on
// PostgreSQL, which runs on pgx's stdlib underneath and LISTENs through a
// pgx pool of its own). River's pgx driver would want a pgx.Tx, which an
// open *sql.Tx cannot give: the store would need a second code path.

// ReplyJobs keeps the delivery job of a reply in step with its outbox row.
// The store calls it inside the transaction that changes the row, so that
// a reply with a retry recorded always has its job and a settled one loses
// it in the same commit. An error rolls the change back.
type ReplyJobs interface {
	// ReplyDue: reply id is pending and its next attempt is due at due
	// (a retry recorded, an operator's retry). RecordDecision calls
	// neither hook: the caller sends the reply at once and gives it a job
	// only if that first attempt leaves it pending (package queue).
	ReplyDue(ctx context.Context, tx *sql.Tx, id int64, due time.Time) error
	// ReplySettled: reply id was sent or failed for good.
	ReplySettled(ctx context.Context, tx *sql.Tx, id int64) error
}

// Jobs is what the work queue needs of the store (see [DB.JobsDriver]).
type Jobs interface {
	// JobsDriver is the River driver over the store's database; a second
	// call gives the same one.
	JobsDriver(ctx context.Context) (riverdriver.Driver[*sql.Tx], error)
	// SetReplyJobs installs the hooks the outbox's changes call; nil
	// removes them. Set it before the store is used.
	SetReplyJobs(j ReplyJobs)
	// PendingReplies lists the replies still pending: at its start the
	// work queue gives each its job, whatever stopped before it had one.
	PendingReplies(ctx context.Context) ([]int64, error)
}

// migrateAll applies the store's migrations, then River's own (river_job,
// river_leader...: numbered by River, not in migrations/), once migrate
// holds the migration lock on PostgreSQL.
func (db *DB) migrateAll(ctx context.Context) error {
	if err := db.migrateLocked(ctx); err != nil {
		return err
	}
	return db.migrateJobs(ctx)
}

// migrateJobs applies River's migrations. On PostgreSQL they run under the
// session lock migrate holds, each in its own transaction (River's version
// 006 uses an enum value added by an earlier one: one transaction for all
// fails). On SQLite they run in one IMMEDIATE transaction
// (WithMigrationLock), so that a second process finds them applied.
func (db *DB) migrateJobs(ctx context.Context) error {
	var driver riverdriver.Driver[*sql.Tx] = riversqlite.New(db.sql)
	if db.postgres {
		driver = riverdatabasesql.New(db.sql)
	}
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	switch {
	case err != nil:
	case db.postgres:
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	default:
		err = db.WithMigrationLock(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil) //nolint:staticcheck // SQLite: one transaction
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("store: apply the work queue's migrations: %w", err)
	}
	return nil
}

// JobsDriver returns the River driver of the store, made at the first
// call. On SQLite River has a connection pool of its own with one
// connection to the same file: its pollers and its completer then queue
// behind each other instead of beside the store's writers, and every
// write waits its turn on the busy timeout (IMMEDIATE transactions). On
// PostgreSQL it shares the store's pool and LISTENs on one pgx connection.
func (db *DB) JobsDriver(ctx context.Context) (riverdriver.Driver[*sql.Tx], error) {
	db.jobsMu.Lock()
	defer db.jobsMu.Unlock()
	if db.jobsDriver != nil {
		return db.jobsDriver, nil
	}
	switch {
	case db.postgres:
		cfg, err := pgxpool.ParseConfig(db.dsn)
		if err != nil {
			return nil, fmt.Errorf("store: work queue listener: %w", err)
		}
		cfg.MinConns, cfg.MaxConns = 0, 1
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("store: work queue listener: %w", err)
		}
		db.jobsPool = pool
		db.jobsDriver = riverdatabasesql.NewWithPgxListener(db.sql, pool)
	case db.memory:
		// One connection is the whole database: share it.
		db.jobsDriver = riversqlite.New(db.sql)
	default:
		sdb, err := sqliteOpen(db.dsn)
		if err != nil {
			return nil, fmt.Errorf("store: work queue connection: %w", err)
		}
		sdb.SetMaxOpenConns(1)
		sdb.SetMaxIdleConns(1)
		db.jobsSQL = sdb
		db.jobsDriver = riversqlite.New(sdb)
	}
	return db.jobsDriver, nil
}

// SetReplyJobs installs the reply job hooks (see ReplyJobs).
func (db *DB) SetReplyJobs(j ReplyJobs) { db.replyJobs = j }

// closeJobs closes what JobsDriver opened.
func (db *DB) closeJobs() error {
	if db.jobsPool != nil {
		db.jobsPool.Close()
	}
	if db.jobsSQL != nil {
		return db.jobsSQL.Close()
	}
	return nil
}

// replyDue and replySettled call the hooks, if any.
func (db *DB) replyDue(ctx context.Context, tx *sql.Tx, id int64, due time.Time) error {
	if db.replyJobs == nil {
		return nil
	}
	return db.replyJobs.ReplyDue(ctx, tx, id, due)
}

func (db *DB) replySettled(ctx context.Context, tx *sql.Tx, id int64) error {
	if db.replyJobs == nil {
		return nil
	}
	return db.replyJobs.ReplySettled(ctx, tx, id)
}

func (db *DB) dueHook(id int64, due time.Time) jobHook {
	return func(ctx context.Context, tx *sql.Tx) error { return db.replyDue(ctx, tx, id, due) }
}

func (db *DB) settledHook(id int64) jobHook {
	return func(ctx context.Context, tx *sql.Tx) error { return db.replySettled(ctx, tx, id) }
}

var _ Jobs = (*DB)(nil)
