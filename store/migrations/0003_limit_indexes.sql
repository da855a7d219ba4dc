-- The daily limits (SPEC section 7) count a compte's attestations and an
-- address's generic replies of the last 24 h for every request. The indexes
-- of 0001 led to the rows, and each row was read for its outcome or generic
-- flag: a count cost a table look-up per counted row (5 % of the daemon's
-- CPU on real servers with the limits raised, issue 14). With those columns
-- in the index the count reads the index alone.
DROP INDEX claims_issued;
DROP INDEX claims_generic;
CREATE INDEX claims_issued ON claims (compte_id, outcome, decided_at);
CREATE INDEX claims_generic ON claims (reply_to, generic, decided_at);
