package store

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// SQLite statements are prepared once per process and reused: parsing and
// planning a statement cost about as much as running these short ones
// (issue 14's profile: statement parsing 6 to 10 % of the daemon's CPU).
// pgx already keeps a statement cache per connection, so PostgreSQL queries
// go through as they are, rebound.

// stmtCache holds the statements prepared on db.sql, by query text.
type stmtCache struct {
	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool // being prepared in the background
	closed  bool
}

// p returns a querier over q (db.sql or one of its transactions) that takes
// queries with ? placeholders: prepared once on SQLite, rebound on
// PostgreSQL.
func (db *DB) p(q querier) querier {
	if db.postgres {
		return rebound{db, q}
	}
	return prepared{db, q}
}

// rebound rebinds each query for PostgreSQL.
type rebound struct {
	db *DB
	q  querier
}

func (r rebound) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return r.q.ExecContext(ctx, r.db.q(query), args...)
}

func (r rebound) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return r.q.QueryContext(ctx, r.db.q(query), args...)
}

func (r rebound) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return r.q.QueryRowContext(ctx, r.db.q(query), args...)
}

// prepared runs each query through its cached statement, bound to q when q
// is a transaction; a query not prepared yet runs as it is.
type prepared struct {
	db *DB
	q  querier
}

func (p prepared) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.db.stmt(ctx, p.q, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.q.ExecContext(ctx, query, args...)
}

func (p prepared) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.db.stmt(ctx, p.q, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.q.QueryContext(ctx, query, args...)
}

func (p prepared) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.db.stmt(ctx, p.q, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.q.QueryRowContext(ctx, query, args...)
}

// stmt returns the statement of query for q, or nil when it is not prepared
// yet. Outside a transaction it prepares it at once. Inside one it cannot:
// preparing on db.sql takes a connection of its own, and transactions that
// wait for one while holding theirs would deadlock the pool; the statement
// is prepared in the background for the next time. A statement bound to a
// transaction is prepared on the transaction's connection the first time
// that connection uses it, then kept with the statement.
func (db *DB) stmt(ctx context.Context, q querier, query string) *sql.Stmt {
	c := &db.stmts
	c.mu.Lock()
	st, closed := c.stmts[query], c.closed
	c.mu.Unlock()
	if closed {
		return nil
	}
	tx, inTx := q.(*sql.Tx)
	switch {
	case st != nil && inTx:
		return tx.StmtContext(ctx, st)
	case st != nil:
		return st
	case inTx:
		c.prepareLater(db.sql, query)
		return nil
	}
	st, err := c.prepare(ctx, db.sql, query)
	if err != nil {
		return nil // the caller runs it unprepared and reports the error
	}
	return st
}

// prepare prepares query on sdb and caches it (or the one another goroutine
// cached first).
func (c *stmtCache) prepare(ctx context.Context, sdb *sql.DB, query string) (*sql.Stmt, error) {
	st, err := sdb.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		st.Close()
		return nil, sql.ErrConnDone
	}
	if have := c.stmts[query]; have != nil {
		st.Close()
		return have, nil
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[query] = st
	return st, nil
}

// prepareLater prepares query in a goroutine of its own, once.
func (c *stmtCache) prepareLater(sdb *sql.DB, query string) {
	c.mu.Lock()
	if c.pending[query] || c.closed {
		c.mu.Unlock()
		return
	}
	if c.pending == nil {
		c.pending = map[string]bool{}
	}
	c.pending[query] = true
	c.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = c.prepare(ctx, sdb, query)
		c.mu.Lock()
		delete(c.pending, query)
		c.mu.Unlock()
	}()
}

// close closes the cached statements; later queries run unprepared.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = nil
}
