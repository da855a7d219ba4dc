package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"reflect"

	"modernc.org/sqlite"
)

// SQLite compiles every statement it runs from its text. The store's own
// statements are prepared once per process (stmts.go), but River's
// (riversqlite) are run by text on a *sql.Tx or *sql.DB: database/sql then
// has the driver prepare and finalize each one, and River's INSERT of a
// reply job cost 0.69 ms of parsing a message in a burst, its fetch and
// leader queries more when idle (docs/performance.md). The connections of
// a SQLite store keep the statements run by text, prepared, per connection
// (at most connStmtsMax): a statement is compiled once per connection.

// connStmtsMax bounds the statements a connection keeps prepared.
const connStmtsMax = 64

// sqliteOpen opens dsn with modernc's driver, its connections keeping the
// statements run by text prepared.
func sqliteOpen(dsn string) (*sql.DB, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(stmtKeeper{c}), nil
}

// stmtKeeper makes the connections.
type stmtKeeper struct{ driver.Connector }

func (k stmtKeeper) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := k.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &keepConn{Conn: c, stmts: map[string]*keptStmt{}}, nil
}

// keptConn is the SQLite connection interfaces database/sql uses.
type keptConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// keepConn is one connection and its statements. database/sql uses a
// connection from one goroutine at a time; a statement still reading
// rows when its text is run again is busy: the second run goes the
// uncached way.
type keepConn struct {
	driver.Conn
	stmts map[string]*keptStmt
}

type keptStmt struct {
	driver.Stmt
	busy bool
}

func (c *keepConn) inner() keptConn { return c.Conn.(keptConn) }

// stmt returns the prepared statement of query, nil when it is busy.
func (c *keepConn) stmt(ctx context.Context, query string) (*keptStmt, error) {
	if s, ok := c.stmts[query]; ok {
		if s.busy {
			return nil, nil
		}
		return s, nil
	}
	if len(c.stmts) >= connStmtsMax {
		for q, s := range c.stmts { // any one not in use
			if !s.busy {
				s.Close()
				delete(c.stmts, q)
				break
			}
		}
	}
	ps, err := c.inner().PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s := &keptStmt{Stmt: ps}
	c.stmts[query] = s
	return s, nil
}

func (c *keepConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.inner().ExecContext(ctx, query, args)
	}
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *keepConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.inner().QueryContext(ctx, query, args)
	}
	r, err := s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &keptRows{Rows: r, s: s}, nil
}

func (c *keepConn) Close() error {
	for q, s := range c.stmts {
		s.Close()
		delete(c.stmts, q)
	}
	return c.Conn.Close()
}

func (c *keepConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner().BeginTx(ctx, opts)
}

func (c *keepConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.inner().PrepareContext(ctx, query)
}

func (c *keepConn) Ping(ctx context.Context) error { return c.inner().Ping(ctx) }

func (c *keepConn) ResetSession(ctx context.Context) error { return c.inner().ResetSession(ctx) }

func (c *keepConn) IsValid() bool { return c.inner().IsValid() }

// keptRows frees its statement for the next run when closed.
type keptRows struct {
	driver.Rows
	s *keptStmt
}

func (r *keptRows) Close() error {
	err := r.Rows.Close()
	r.s.busy = false
	return err
}

// The column type interfaces of modernc's rows.

func (r *keptRows) ColumnTypeDatabaseTypeName(i int) string {
	return r.Rows.(driver.RowsColumnTypeDatabaseTypeName).ColumnTypeDatabaseTypeName(i)
}

func (r *keptRows) ColumnTypeLength(i int) (int64, bool) {
	return r.Rows.(driver.RowsColumnTypeLength).ColumnTypeLength(i)
}

func (r *keptRows) ColumnTypeNullable(i int) (bool, bool) {
	return r.Rows.(driver.RowsColumnTypeNullable).ColumnTypeNullable(i)
}

func (r *keptRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	return r.Rows.(driver.RowsColumnTypePrecisionScale).ColumnTypePrecisionScale(i)
}

func (r *keptRows) ColumnTypeScanType(i int) reflect.Type {
	return r.Rows.(driver.RowsColumnTypeScanType).ColumnTypeScanType(i)
}
