package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cpam/attestd/rules"
)

// APIMailbox is the mailbox name of the ledger rows of API calls: they have
// no IMAP message, so no UID either.
const APIMailbox = "api"

// RecordCall records one call of the HTTP API in the ledger (issue 13): a
// claim already done, in the channel d.Channel, without raw content (the
// API request holds a NIR and is not kept). callID must be unique
// ("api:<random>"); it takes the place of the Message-ID. An Issued
// decision counts toward the compte's rate limit like a mailed one; the
// call's reservation under it (Reserve, holder callID) goes in the same
// transaction.
func (db *DB) RecordCall(ctx context.Context, callID string, d Decision, now time.Time) (int64, error) {
	if err := d.check(); err != nil {
		return 0, fmt.Errorf("store: api call: %w", err)
	}
	var id int64
	err := db.inTx(ctx, false, func(tx *sql.Tx) error {
		if err := db.deleteReservation(ctx, tx, callID); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, db.q(`INSERT INTO claims (mailbox, uidvalidity, uid, message_id, state, attempts,
			outcome, folder, compte_id, ref, reply_to, generic, raw, raw_size, created_at, decided_at, done_at, channel, detail)
			VALUES (?, 0, 0, ?, ?, 1, ?, ?, ?, ?, '', 0, NULL, 0, ?, ?, ?, ?, ?) RETURNING id`),
			APIMailbox, callID, StateDone, d.Outcome, d.Folder, d.CompteID, d.Reference,
			millis(now), millis(now), millis(now), d.Channel, d.Detail).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("store: record api call: %w", err)
	}
	return id, nil
}

// Entry is a ledger row as the console shows it.
type Entry struct {
	Claim
	Channel, Detail string
	Decided         time.Time // zero while undecided
	Handled         time.Time // zero until an operator marked it handled
	RawSize         int64
}

const entryColumns = claimColumns + `, channel, detail, decided_at, handled_at, raw_size`

func scanEntry(s interface{ Scan(...any) error }) (*Entry, error) {
	var (
		e                Entry
		uidv, uid        int64
		decided, handled sql.NullInt64
	)
	err := s.Scan(&e.ID, &e.Key.Mailbox, &uidv, &uid, &e.MessageID, &e.State, &e.Outcome, &e.Folder,
		&e.CompteID, &e.Reference, &e.Attempts, &e.Channel, &e.Detail, &decided, &handled, &e.RawSize)
	if err != nil {
		return nil, err
	}
	e.Key.UIDValidity, e.Key.UID = uint32(uidv), uint32(uid)
	e.Decided, e.Handled = fromNullMillis(decided), fromNullMillis(handled)
	return &e, nil
}

// EntryFilter selects ledger rows; the fields set must all hold.
type EntryFilter struct {
	Folders   []string // in one of these folders
	Reference string
	MessageID string
	CompteID  string
	Limit     int // 0: 200
}

// Entries returns the ledger rows the filter selects, the latest first.
func (db *DB) Entries(ctx context.Context, f EntryFilter) ([]Entry, error) {
	query, args := entriesQuery(f)
	rows, err := db.sql.QueryContext(ctx, db.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: entries: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("store: entries: %w", err)
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}

// entriesQuery is the query of Entries and its arguments.
func entriesQuery(f EntryFilter) (string, []any) {
	var (
		where []string
		args  []any
	)
	if len(f.Folders) > 0 {
		where = append(where, `folder IN (?`+strings.Repeat(`, ?`, len(f.Folders)-1)+`)`)
		for _, s := range f.Folders {
			args = append(args, s)
		}
	}
	for _, c := range []struct{ col, v string }{{"ref", f.Reference}, {"message_id", f.MessageID}, {"compte_id", f.CompteID}} {
		if c.v != "" {
			where = append(where, c.col+` = ?`)
			args = append(args, c.v)
		}
	}
	if len(f.Folders) > 0 || f.Reference != "" || f.CompteID != "" {
		// Only a decision sets them: the term lets the partial indexes
		// of these columns be used (migration 0009).
		where = append(where, `decided_at IS NOT NULL`)
	}
	query := `SELECT ` + entryColumns + ` FROM claims`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	if f.Limit <= 0 {
		f.Limit = 200
	}
	return query + ` ORDER BY id DESC LIMIT ?`, append(args, f.Limit)
}

// EntryByID returns one ledger row with the raw message (nil once purged).
func (db *DB) EntryByID(ctx context.Context, id int64) (*Entry, []byte, error) {
	var raw []byte
	e, err := scanEntry(db.sql.QueryRowContext(ctx, db.q(`SELECT `+entryColumns+` FROM claims WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("store: claim %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: claim %d: %w", id, err)
	}
	if err := db.sql.QueryRowContext(ctx, db.q(`SELECT raw FROM claims WHERE id = ?`), id).Scan(&raw); err != nil {
		return nil, nil, fmt.Errorf("store: claim %d: %w", id, err)
	}
	return e, raw, nil
}

// HourCount is how many decisions of one outcome fell in one hour.
type HourCount struct {
	Hour    time.Time // start of the hour, UTC
	Outcome rules.Outcome
	N       int
}

// OutcomesPerHour counts the decisions made at or after since, per hour and
// outcome, oldest hour first.
func (db *DB) OutcomesPerHour(ctx context.Context, since time.Time) ([]HourCount, error) {
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT decided_at / 3600000 AS h, outcome, count(*) FROM claims
		WHERE decided_at >= ? GROUP BY decided_at / 3600000, outcome ORDER BY h, outcome`), millis(since))
	if err != nil {
		return nil, fmt.Errorf("store: outcomes per hour: %w", err)
	}
	defer rows.Close()
	var out []HourCount
	for rows.Next() {
		var (
			h int64
			c HourCount
		)
		if err := rows.Scan(&h, &c.Outcome, &c.N); err != nil {
			return nil, fmt.Errorf("store: outcomes per hour: %w", err)
		}
		c.Hour = fromMillis(h * 3600000)
		out = append(out, c)
	}
	return out, rows.Err()
}

// OldestPending is when the oldest reply still waiting was stored; zero when
// none waits.
func (db *DB) OldestPending(ctx context.Context) (time.Time, error) {
	var ms sql.NullInt64
	err := db.sql.QueryRowContext(ctx, db.q(`SELECT min(created_at) FROM outbox WHERE state = ?`), OutboxPending).Scan(&ms)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: oldest pending reply: %w", err)
	}
	return fromNullMillis(ms), nil
}
