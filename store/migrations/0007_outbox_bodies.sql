-- A reply's content in a row of its own, written once and never rewritten
-- (issue 14). SQLite rewrites a whole row to change one column: with the
-- content in the outbox row, recording a reply sent (state, attempts,
-- sent_at) wrote its 40 KB again, half of the WAL a message writes, in the
-- commit that every other writer waits for. The outbox row now holds the
-- state alone; PurgeRaw deletes the body. {{autoid}} makes outbox_id the
-- rowid on SQLite; on PostgreSQL the identity goes unused (outbox_id is
-- always given).
CREATE TABLE outbox_bodies (
	outbox_id {{autoid}} REFERENCES outbox (id) ON DELETE CASCADE,
	raw {{blob}} NOT NULL
);
INSERT INTO outbox_bodies (outbox_id, raw) SELECT id, raw FROM outbox WHERE raw IS NOT NULL;
ALTER TABLE outbox DROP COLUMN raw;
