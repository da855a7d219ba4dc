// Package store keeps attestd's durable state: the registry of comptes the
// rules decide on, the ledger of every message seen, the outbox of replies to
// send, and the counts the rate limits read.
//
// # Databases
//
// The same SQL runs on SQLite (modernc.org/sqlite, pure Go, one file: the
// default) and PostgreSQL (pgx v5 through database/sql, for a shared
// deployment). Queries are written with ? placeholders and rebound to $n for
// PostgreSQL in one place. Columns use portable types only: TEXT, INTEGER,
// BIGINT and a binary type; times are BIGINT Unix milliseconds in UTC,
// booleans are INTEGER 0/1, calendar dates are TEXT YYYY-MM-DD. The schema
// lives in migrations/*.sql, embedded and applied by [Open].
//
// # The ledger (SPEC section 8)
//
// A message goes through the ledger in this order, each step its own
// transaction, so that a crash anywhere resumes without losing the message
// and without answering twice:
//
//  1. [DB.Claim]: the message is seen (state claimed, Attempts counted
//     before anything is done with it).
//  2. [DB.RecordDecision]: the outcome and the reply to send are stored
//     together (state decided, one outbox row when there is a reply).
//  3. [DB.MarkSent] (or [DB.MarkRetry], [DB.MarkPermanent]): the reply left.
//  4. [DB.MarkDone]: the message was moved to its folder (state done).
//
// # Personal data
//
// The store holds personal data (it is the registry); messages and errors it
// returns never quote a NIR, a name or an address, so that they can be logged.
package store
