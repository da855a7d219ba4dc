package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cpam/attestd/rules"
)

// MessageKey names a message in the IMAP store: its mailbox, the mailbox's
// UIDVALIDITY and its UID.
type MessageKey struct {
	Mailbox     string
	UIDValidity uint32
	UID         uint32
}

// String formats the key for logs: "INBOX 1700000000:42".
func (k MessageKey) String() string { return fmt.Sprintf("%s %d:%d", k.Mailbox, k.UIDValidity, k.UID) }

// ClaimState is where a message is in its handling.
type ClaimState string

// The claim states, in order.
const (
	StateClaimed ClaimState = "claimed" // seen, no decision yet
	StateDecided ClaimState = "decided" // outcome and reply stored
	StateDone    ClaimState = "done"    // moved to its folder
)

// Claim is the ledger's record of one message.
type Claim struct {
	ID int64
	// Key is the key the message was first claimed under.
	Key MessageKey
	// MessageID is its Message-ID, or "sha256:<hex>" of the raw message.
	MessageID string
	State     ClaimState
	// Outcome, Folder, CompteID and Reference are set once decided.
	Outcome   rules.Outcome
	Folder    string
	CompteID  string
	Reference string
	// Attempts counts the Claim calls made while the message had no
	// decision, this one included: more than a few means deciding keeps
	// failing (or crashing the daemon) and the message should end as failed.
	Attempts int
	// Duplicate is set when the claim was made under another key: the same
	// message seen again after a UIDVALIDITY reset, or a copy of it.
	Duplicate bool
}

// MessageDigest is the second key of a message without a Message-ID:
// "sha256:" and the hex SHA-256 of its raw bytes.
func MessageDigest(raw []byte) string {
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Claim records that the message at key was seen, and counts the attempt,
// in one transaction, before anything is done with the message (claim the
// attempt, then act). It returns the message's claim, new or existing:
//
//   - key already claimed: that claim, Attempts incremented while undecided.
//   - messageID already claimed under another key (a UIDVALIDITY reset, a
//     copy of the message): that claim with Duplicate set, Attempts
//     incremented while undecided, and key recorded as an alias of it so
//     that the next Claim on key finds it at once.
//   - otherwise a new claim in state claimed with Attempts 1.
//
// Attempts counts only the attempts at deciding: it is not incremented once
// the claim is decided, so calling Claim again to re-read it is harmless (but
// ClaimByID is the plain read). messageID is the Message-ID header; "" uses
// MessageDigest(raw). raw is kept until PurgeRaw. Under a lease (WithLease)
// it first checks that the lease is still held: ErrLeaseLost otherwise.
func (db *DB) Claim(ctx context.Context, key MessageKey, messageID string, raw []byte) (*Claim, error) {
	messageID = strings.TrimSpace(messageID)
	if messageID == "" {
		messageID = MessageDigest(raw)
	}
	if raw == nil {
		raw = []byte{} // NULL means purged
	}
	var c *Claim
	err := db.inTx(ctx, false, func(tx *sql.Tx) error {
		if err := db.checkLease(ctx, tx); err != nil {
			return err
		}
		id, found, err := db.claimIDByKey(ctx, tx, key)
		if err != nil {
			return err
		}
		created := false
		if !found {
			if id, created, err = db.insertClaim(ctx, tx, key, messageID, raw); err != nil {
				return err
			}
			if err := db.insertAlias(ctx, tx, key, id); err != nil {
				return err
			}
		}
		if !created {
			if _, err := db.p(tx).ExecContext(ctx, `UPDATE claims SET attempts = attempts + 1 WHERE id = ? AND state = ?`,
				id, StateClaimed); err != nil {
				return err
			}
		}
		c, err = db.loadClaim(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim %s: %w", key, err)
	}
	c.Duplicate = c.Key != key
	return c, nil
}

func (db *DB) claimIDByKey(ctx context.Context, q querier, key MessageKey) (id int64, found bool, err error) {
	err = db.p(q).QueryRowContext(ctx, `SELECT claim_id FROM claim_keys WHERE mailbox = ? AND uidvalidity = ? AND uid = ?`,
		key.Mailbox, int64(key.UIDValidity), int64(key.UID)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}

// insertClaim creates the claim of messageID, or finds the one that exists.
// Its created_at is the wall clock's: a record for operators that no logic
// reads.
func (db *DB) insertClaim(ctx context.Context, tx *sql.Tx, key MessageKey, messageID string, raw []byte) (id int64, created bool, err error) {
	err = db.p(tx).QueryRowContext(ctx, `INSERT INTO claims (mailbox, uidvalidity, uid, message_id, state, attempts, raw, raw_size, created_at)
		VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)
		ON CONFLICT (message_id) DO NOTHING RETURNING id`,
		key.Mailbox, int64(key.UIDValidity), int64(key.UID), messageID, StateClaimed, raw, len(raw), millis(time.Now())).Scan(&id)
	if err == nil {
		return id, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, err
	}
	err = db.p(tx).QueryRowContext(ctx, `SELECT id FROM claims WHERE message_id = ?`, messageID).Scan(&id)
	return id, false, err
}

// insertAlias records key as leading to claim id. Two Claims of the same new
// key racing on PostgreSQL both get here; the loser finds the winner's row,
// which names the same claim when the message is the same.
func (db *DB) insertAlias(ctx context.Context, tx *sql.Tx, key MessageKey, id int64) error {
	res, err := db.p(tx).ExecContext(ctx, `INSERT INTO claim_keys (mailbox, uidvalidity, uid, claim_id) VALUES (?, ?, ?, ?)
		ON CONFLICT (mailbox, uidvalidity, uid) DO NOTHING`,
		key.Mailbox, int64(key.UIDValidity), int64(key.UID), id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	other, _, err := db.claimIDByKey(ctx, tx, key)
	if err != nil {
		return err
	}
	if other != id {
		return fmt.Errorf("key claimed concurrently for another message (claim %d): try again", other)
	}
	return nil
}

const claimColumns = `id, mailbox, uidvalidity, uid, message_id, state, outcome, folder, compte_id, ref, attempts`

func scanClaim(s interface{ Scan(...any) error }) (*Claim, error) {
	var (
		c        Claim
		uidv, ui int64
	)
	err := s.Scan(&c.ID, &c.Key.Mailbox, &uidv, &ui, &c.MessageID, &c.State, &c.Outcome, &c.Folder,
		&c.CompteID, &c.Reference, &c.Attempts)
	if err != nil {
		return nil, err
	}
	c.Key.UIDValidity, c.Key.UID = uint32(uidv), uint32(ui)
	return &c, nil
}

func (db *DB) loadClaim(ctx context.Context, q querier, id int64) (*Claim, error) {
	c, err := scanClaim(db.p(q).QueryRowContext(ctx, `SELECT `+claimColumns+` FROM claims WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("claim %d: %w", id, ErrNotFound)
	}
	return c, err
}

// ClaimByID returns the claim with that id, or an error wrapping ErrNotFound.
func (db *DB) ClaimByID(ctx context.Context, id int64) (*Claim, error) {
	c, err := db.loadClaim(ctx, db.sql, id)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return c, nil
}

// Unfinished returns the claims first made in mailbox that are not done
// (claimed or decided), oldest first: what a restart resumes.
func (db *DB) Unfinished(ctx context.Context, mailbox string) ([]Claim, error) {
	rows, err := db.p(db.sql).QueryContext(ctx, `SELECT `+claimColumns+` FROM claims
		WHERE state IN (?, ?) AND mailbox = ? ORDER BY id`, StateClaimed, StateDecided, mailbox)
	if err != nil {
		return nil, fmt.Errorf("store: unfinished claims: %w", err)
	}
	defer rows.Close()
	var out []Claim
	for rows.Next() {
		c, err := scanClaim(rows)
		if err != nil {
			return nil, fmt.Errorf("store: unfinished claims: %w", err)
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unfinished claims: %w", err)
	}
	return out, nil
}

// ClaimRaw returns the raw message kept with a claim, or nil once PurgeRaw
// removed it. The error wraps ErrNotFound for an unknown claim.
func (db *DB) ClaimRaw(ctx context.Context, id int64) ([]byte, error) {
	var raw []byte
	err := db.p(db.sql).QueryRowContext(ctx, `SELECT raw FROM claims WHERE id = ?`, id).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: claim %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: raw message of claim %d: %w", id, err)
	}
	return raw, nil
}
