// Package pgtemp gives a test or a bench run a PostgreSQL schema of its
// own in a shared database: every table the run makes (attestd's, River's)
// lands there, nothing else in the database is touched, and Drop removes
// exactly what the run made. The store tests do the same for one
// connection (store/main_test.go); the cluster crash test and `attestd
// bench --replicas` need it for several processes, which all get the same
// DSN.
package pgtemp

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// Schema is a schema made for one run.
type Schema struct {
	// Name is the schema's name: prefix and 12 random hex digits.
	Name string
	// DSN is the database's DSN with search_path set to Name: what the
	// run's processes connect with.
	DSN   string
	admin *sql.DB
}

// New creates a schema named prefix_<random> in the database of dsn (a
// pgx URL or key=value string) and returns it.
func New(ctx context.Context, dsn, prefix string) (*Schema, error) {
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("pgtemp: %w", err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := prefix + "_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		admin.Close()
		return nil, fmt.Errorf("pgtemp: create schema %s (is PostgreSQL at the DSN running, and may its user create schemas?): %w", name, err)
	}
	withPath, err := WithSearchPath(dsn, name)
	if err != nil {
		admin.ExecContext(ctx, "DROP SCHEMA "+name+" CASCADE")
		admin.Close()
		return nil, err
	}
	return &Schema{Name: name, DSN: withPath, admin: admin}, nil
}

// Drop removes the schema and everything in it, and closes the
// administrative connection.
func (s *Schema) Drop(ctx context.Context) error {
	defer s.admin.Close()
	if _, err := s.admin.ExecContext(ctx, "DROP SCHEMA "+s.Name+" CASCADE"); err != nil {
		return fmt.Errorf("pgtemp: drop schema %s: %w", s.Name, err)
	}
	return nil
}

// WithSearchPath returns dsn with its search_path run-time parameter set
// to schema, in either form pgx reads (URL or key=value).
func WithSearchPath(dsn, schema string) (string, error) {
	if !strings.Contains(dsn, "://") {
		return dsn + " search_path=" + schema, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("pgtemp: the DSN is not a URL: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
