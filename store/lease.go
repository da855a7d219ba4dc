package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Mailbox leases (issue 11). Several replicas may run on one store; each
// mailbox is watched by one of them at a time: the one holding its lease.
// A lease runs for a TTL from its last renewal, by the database's clock
// (the one clock every replica shares), and its epoch grows at every
// acquisition. The ledger writes of a mailbox's messages carry the lease
// they are made under (WithLease); Claim and RecordDecision check it in
// their transaction, so that a replica that lost the lease (paused,
// partitioned, or too slow to renew) cannot claim or decide any more.

// ErrLeaseLost: the lease named is no longer its holder's (it expired and
// was taken, or released). Nothing was changed.
var ErrLeaseLost = errors.New("store: mailbox lease lost")

// Lease is one holder's hold on a mailbox, at one epoch.
type Lease struct {
	Mailbox string
	Holder  string
	Epoch   int64
}

// dbNow is the database's clock in Unix milliseconds, as SQL.
func (db *DB) dbNow() string {
	if db.postgres {
		return `(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT`
	}
	return `CAST(unixepoch('subsec') * 1000 AS INTEGER)`
}

// LeaseHeld is a lease that could not be acquired: who holds it, and how
// long it still runs unless renewed.
type LeaseHeld struct {
	Holder string
	Left   time.Duration
}

// AcquireLease gives holder the lease of mailbox for ttl when it is free:
// never taken, released, or expired. It returns the lease, with an epoch
// greater than any before it; or, when another holder has it, nil and who
// that is.
func (db *DB) AcquireLease(ctx context.Context, mailbox, holder string, ttl time.Duration) (*Lease, LeaseHeld, error) {
	return db.takeLease(ctx, mailbox, holder, "", ttl)
}

// TakeLease gives holder the lease of mailbox for ttl if it is free or if
// from holds it, expired or not: the lease of a holder known to be dead (a
// process of this machine that is gone) is taken at once, without waiting
// for its TTL. It returns what AcquireLease does.
func (db *DB) TakeLease(ctx context.Context, mailbox, holder, from string, ttl time.Duration) (*Lease, LeaseHeld, error) {
	return db.takeLease(ctx, mailbox, holder, from, ttl)
}

func (db *DB) takeLease(ctx context.Context, mailbox, holder, from string, ttl time.Duration) (*Lease, LeaseHeld, error) {
	now := db.dbNow()
	var (
		epoch int64
		held  LeaseHeld
		left  int64
	)
	// A lease held and running is found by a plain read. The upsert below
	// would lock the row even when its WHERE leaves it alone, and on
	// PostgreSQL that lock waits for every decision in flight holding the
	// row FOR SHARE (checkLease) and holds up the next ones: with three
	// replicas, each trying every second for the mailboxes it does not
	// hold, the holder's decisions queued behind those tries (50 requests/s
	// on two mailboxes: p50 110 ms against 35 ms for one replica).
	err := db.p(db.sql).QueryRowContext(ctx, `SELECT holder, expires_at - `+now+` FROM mailbox_leases WHERE mailbox = ?`,
		mailbox).Scan(&held.Holder, &left)
	switch {
	case errors.Is(err, sql.ErrNoRows): // a new mailbox: the upsert creates it
	case err != nil:
		return nil, LeaseHeld{}, fmt.Errorf("store: acquire the lease of mailbox %s: %w", mailbox, err)
	case left > 0 && (from == "" || held.Holder != from):
		held.Left = time.Duration(left) * time.Millisecond
		return nil, held, nil
	}
	err = db.inTx(ctx, false, func(tx *sql.Tx) error {
		err := db.p(tx).QueryRowContext(ctx, `INSERT INTO mailbox_leases (mailbox, holder, epoch, expires_at, acquired_at)
			VALUES (?, ?, 1, `+now+` + ?, `+now+`)
			ON CONFLICT (mailbox) DO UPDATE SET holder = excluded.holder, epoch = mailbox_leases.epoch + 1,
				expires_at = excluded.expires_at, acquired_at = excluded.acquired_at
			WHERE mailbox_leases.expires_at <= `+now+` OR mailbox_leases.holder = ? AND ? <> '' RETURNING epoch`,
			mailbox, holder, ttl.Milliseconds(), from, from).Scan(&epoch)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return db.p(tx).QueryRowContext(ctx, `SELECT holder, expires_at - `+now+` FROM mailbox_leases WHERE mailbox = ?`,
			mailbox).Scan(&held.Holder, &left)
	})
	if err != nil {
		return nil, LeaseHeld{}, fmt.Errorf("store: acquire the lease of mailbox %s: %w", mailbox, err)
	}
	if epoch == 0 {
		held.Left = max(time.Duration(left)*time.Millisecond, 0)
		return nil, held, nil
	}
	return &Lease{Mailbox: mailbox, Holder: holder, Epoch: epoch}, LeaseHeld{}, nil
}

// RenewLease extends l for ttl from now. An expired lease is not renewed,
// even when nobody took it meanwhile: its holder must have stopped (see
// ErrLeaseLost) and acquires it again, at a new epoch.
func (db *DB) RenewLease(ctx context.Context, l Lease, ttl time.Duration) error {
	now := db.dbNow()
	var n int64
	err := db.inTx(ctx, false, func(tx *sql.Tx) error {
		res, err := db.p(tx).ExecContext(ctx, `UPDATE mailbox_leases SET expires_at = `+now+` + ?
			WHERE mailbox = ? AND holder = ? AND epoch = ? AND expires_at > `+now,
			ttl.Milliseconds(), l.Mailbox, l.Holder, l.Epoch)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err == nil && n == 0 {
		err = ErrLeaseLost
	}
	if err != nil {
		return fmt.Errorf("store: renew the lease of mailbox %s (epoch %d): %w", l.Mailbox, l.Epoch, err)
	}
	return nil
}

// ReleaseLease gives l up at once, so that another replica takes the
// mailbox without waiting for the TTL. Releasing a lease lost already
// changes nothing and is not an error.
func (db *DB) ReleaseLease(ctx context.Context, l Lease) error {
	err := db.inTx(ctx, false, func(tx *sql.Tx) error {
		_, err := db.p(tx).ExecContext(ctx, `UPDATE mailbox_leases SET holder = '', expires_at = 0
			WHERE mailbox = ? AND holder = ? AND epoch = ?`, l.Mailbox, l.Holder, l.Epoch)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: release the lease of mailbox %s: %w", l.Mailbox, err)
	}
	return nil
}

type leaseKey struct{}

// WithLease returns a context whose ledger writes are fenced by l: Claim
// and RecordDecision under it change nothing and return an error wrapping
// ErrLeaseLost once l is not its holder's any more. A context without a
// lease writes unfenced (a store with one replica, the tests, the HTTP API
// which has no mailbox).
func WithLease(ctx context.Context, l Lease) context.Context {
	return context.WithValue(ctx, leaseKey{}, l)
}

// checkLease verifies, inside tx, that the lease ctx carries (if any) is
// still its holder's. On PostgreSQL it holds the lease row shared until tx
// ends, so that a takeover waits for a write that passed the check: no
// write of an old epoch lands after a new epoch exists.
func (db *DB) checkLease(ctx context.Context, tx *sql.Tx) error {
	l, ok := ctx.Value(leaseKey{}).(Lease)
	if !ok {
		return nil
	}
	query := `SELECT holder, epoch FROM mailbox_leases WHERE mailbox = ?`
	if db.postgres {
		query += ` FOR SHARE`
	}
	var (
		holder string
		epoch  int64
	)
	err := db.p(tx).QueryRowContext(ctx, query, l.Mailbox).Scan(&holder, &epoch)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: mailbox %s has no lease", ErrLeaseLost, l.Mailbox)
	}
	if err != nil {
		return err
	}
	if holder != l.Holder || epoch != l.Epoch {
		return fmt.Errorf("%w: mailbox %s is at epoch %d, this write was made under epoch %d", ErrLeaseLost, l.Mailbox, epoch, l.Epoch)
	}
	return nil
}
