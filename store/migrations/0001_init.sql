-- attestd store schema, version 1.
--
-- Portable SQL for SQLite and PostgreSQL. Two tokens are replaced per driver
-- before running (see migrate.go): {{autoid}} (an auto-assigned 64-bit
-- primary key) and {{blob}} (binary data). Times are BIGINT Unix
-- milliseconds UTC; booleans INTEGER 0/1; calendar dates TEXT YYYY-MM-DD.

-- The registry (SPEC section 10). ImportRegistry replaces all four tables.

CREATE TABLE organismes (
	code TEXT PRIMARY KEY,
	regime TEXT NOT NULL,
	caisse TEXT NOT NULL,
	centre TEXT NOT NULL,
	libelle TEXT NOT NULL,
	adresse TEXT NOT NULL -- JSON array of the printed lines
);

CREATE TABLE comptes (
	id TEXT PRIMARY KEY,
	email TEXT NOT NULL,
	email_lower TEXT NOT NULL,
	organisme TEXT NOT NULL REFERENCES organismes (code),
	has_adresse INTEGER NOT NULL, -- 0: no postal address on file
	adresse_lignes TEXT NOT NULL, -- JSON array
	code_postal TEXT NOT NULL,
	commune TEXT NOT NULL,
	npai INTEGER NOT NULL
);

CREATE INDEX comptes_email ON comptes (email_lower, id);

CREATE TABLE beneficiaires (
	compte_id TEXT NOT NULL REFERENCES comptes (id) ON DELETE CASCADE,
	pos INTEGER NOT NULL, -- order within the compte
	nir TEXT UNIQUE, -- normalized; NULL when the beneficiary has no NIR of his own
	nom_famille TEXT NOT NULL,
	nom_usage TEXT NOT NULL,
	prenom TEXT NOT NULL,
	date_naissance TEXT NOT NULL,
	rang INTEGER NOT NULL,
	qualite TEXT NOT NULL,
	PRIMARY KEY (compte_id, pos)
);

CREATE TABLE periodes (
	compte_id TEXT NOT NULL,
	pos INTEGER NOT NULL,
	kind TEXT NOT NULL, -- droits | etm | c2s
	seq INTEGER NOT NULL,
	date_debut TEXT NOT NULL,
	date_fin TEXT, -- NULL: no known end
	motif TEXT NOT NULL, -- etm only; medical data, never printed
	PRIMARY KEY (compte_id, pos, kind, seq),
	FOREIGN KEY (compte_id, pos) REFERENCES beneficiaires (compte_id, pos) ON DELETE CASCADE
);

-- The ledger (SPEC section 8): one row per message, whatever the number of
-- keys it was seen under.

CREATE TABLE claims (
	id {{autoid}},
	mailbox TEXT NOT NULL, -- the key the message was first seen under
	uidvalidity BIGINT NOT NULL,
	uid BIGINT NOT NULL,
	message_id TEXT NOT NULL UNIQUE, -- Message-ID, or sha256:<hex> of the raw message
	state TEXT NOT NULL, -- claimed | decided | done
	attempts INTEGER NOT NULL,
	outcome TEXT NOT NULL DEFAULT '',
	folder TEXT NOT NULL DEFAULT '',
	compte_id TEXT NOT NULL DEFAULT '', -- no foreign key: the registry is replaced, the ledger stays
	ref TEXT NOT NULL DEFAULT '',
	reply_to TEXT NOT NULL DEFAULT '', -- lower-cased address, for the generic-reply rate limit
	generic INTEGER NOT NULL DEFAULT 0,
	raw {{blob}}, -- NULL once purged
	raw_size BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	decided_at BIGINT,
	done_at BIGINT
);

CREATE INDEX claims_state ON claims (state, mailbox);
CREATE INDEX claims_issued ON claims (compte_id, decided_at);
CREATE INDEX claims_generic ON claims (reply_to, decided_at);
CREATE INDEX claims_done ON claims (done_at);

CREATE TABLE claim_keys (
	mailbox TEXT NOT NULL,
	uidvalidity BIGINT NOT NULL,
	uid BIGINT NOT NULL,
	claim_id BIGINT NOT NULL REFERENCES claims (id),
	PRIMARY KEY (mailbox, uidvalidity, uid)
);

-- The durable outbox: at most one reply per claim, written in the same
-- transaction as the decision.

CREATE TABLE outbox (
	id {{autoid}},
	claim_id BIGINT NOT NULL UNIQUE REFERENCES claims (id),
	mail_from TEXT NOT NULL,
	rcpt_to TEXT NOT NULL, -- JSON array of addresses
	raw {{blob}}, -- NULL once purged
	message_id TEXT NOT NULL,
	state TEXT NOT NULL, -- pending | sent | permanent
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt BIGINT NOT NULL,
	last_error TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	sent_at BIGINT
);

CREATE INDEX outbox_due ON outbox (state, next_attempt);
