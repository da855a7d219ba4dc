-- attestd store schema, version 4: the rate limits of SPEC section 7 held
-- across replicas (issue 11). A request under a limit reserves its place
-- here before its PDF is rendered, counted and reserved in one transaction
-- serialized per limit key; RecordDecision (or RecordCall) deletes the
-- reservation in the transaction that records the decision, which the
-- counts of claims then see. A reservation whose replica died expires.
CREATE TABLE rate_reservations (
	holder TEXT PRIMARY KEY, -- the ledger key of the request (claims.message_id)
	rate_key TEXT NOT NULL, -- compte:<id> or generic:<address>
	expires_at BIGINT NOT NULL
);

CREATE INDEX rate_reservations_key ON rate_reservations (rate_key, expires_at);
