-- Mailbox leases (issue 11): which replica watches which mailbox. A replica
-- holds a mailbox's IMAP sessions only while it holds the mailbox's row
-- here, unexpired. epoch grows at every acquisition, so that the ledger
-- writes of a replica that lost the lease can be refused (fencing: Claim
-- and RecordDecision check the epoch in their transaction). Rows are never
-- deleted: a released lease keeps its epoch, which only ever grows.
-- expires_at is in the database's own clock (Unix milliseconds), so that
-- replicas with skewed clocks agree.
CREATE TABLE mailbox_leases (
	mailbox TEXT PRIMARY KEY, -- the mailbox's name (the ledger key's mailbox)
	holder TEXT NOT NULL, -- the replica holding it; '' once released
	epoch BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	acquired_at BIGINT NOT NULL
);
