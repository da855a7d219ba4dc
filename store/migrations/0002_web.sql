-- attestd store schema, version 2: what the web console and the HTTP API
-- need (issue 13).

-- The channel a request came by (direct, gateway, agent, api) and why it
-- ended as it did (never personal data), for the console.
ALTER TABLE claims ADD COLUMN channel TEXT NOT NULL DEFAULT '';
ALTER TABLE claims ADD COLUMN detail TEXT NOT NULL DEFAULT '';
-- Set when an operator marked a Manual or Quarantine message handled.
ALTER TABLE claims ADD COLUMN handled_at BIGINT;

CREATE INDEX claims_folder ON claims (folder, decided_at);
CREATE INDEX claims_ref ON claims (ref);
CREATE INDEX claims_decided ON claims (decided_at);

-- Every action of an operator in the console: who, when, what.
CREATE TABLE audit_log (
	id {{autoid}},
	at BIGINT NOT NULL,
	who TEXT NOT NULL,
	action TEXT NOT NULL, -- retry | handled | outbox_retry | login | login_failed
	claim_id BIGINT, -- NULL when the action is on no message
	outbox_id BIGINT,
	comment TEXT NOT NULL DEFAULT ''
);

CREATE INDEX audit_log_claim ON audit_log (claim_id, at);
