-- A claim is written at first sight with no decision yet: compte_id, ref,
-- folder and reply_to empty, decided_at and done_at NULL. Each index of the
-- ledger still took an entry for it, rewritten when the decision came: a
-- Claim wrote 13 pages of WAL, most of them for entries no query reads
-- (issue 14). These indexes now hold the rows their queries can match:
-- a decided row for the daily limits, the console's statistics and its
-- look-ups by folder, reference or compte; a generic reply for the
-- generic-reply limit; a filed row for the retention. SQLite and
-- PostgreSQL use a partial index when the query's terms imply its WHERE:
-- decided_at >= ? implies decided_at IS NOT NULL; the console adds the
-- terms that a folder, a reference or a compte being set implies.
DROP INDEX claims_issued;
DROP INDEX claims_generic;
DROP INDEX claims_done;
DROP INDEX claims_folder;
DROP INDEX claims_ref;
DROP INDEX claims_decided;
CREATE INDEX claims_issued ON claims (compte_id, outcome, decided_at) WHERE decided_at IS NOT NULL;
CREATE INDEX claims_generic ON claims (reply_to, decided_at) WHERE generic = 1;
CREATE INDEX claims_done ON claims (done_at) WHERE done_at IS NOT NULL;
CREATE INDEX claims_folder ON claims (folder, decided_at) WHERE decided_at IS NOT NULL;
CREATE INDEX claims_ref ON claims (ref) WHERE decided_at IS NOT NULL;
CREATE INDEX claims_decided ON claims (decided_at) WHERE decided_at IS NOT NULL;
