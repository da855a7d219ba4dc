-- Who is sending each reply, and how far each sender's sent journal has
-- been read (issue 11). A replica's sent journal is a local file: one
-- write(2) the instant the final dot is out, where a note in the database
-- is a round trip the dot would be let out during if the replica were
-- killed. Another replica cannot read that file. So the outbox row names
-- the replica (sender: its node name, '' for none) and the run
-- (sender_boot) that may hand the reply to the relay, and another replica
-- sends the reply only once that node has started again and read its
-- journal (senders.replayed, the boot that did it, is past sender_boot),
-- or once sending_since (the database's clock, Unix milliseconds) is older
-- than outbox.sender_wait: a node that does not come back.
ALTER TABLE outbox ADD COLUMN sender TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN sender_boot BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN sending_since BIGINT NOT NULL DEFAULT 0;
CREATE TABLE senders (
	node TEXT PRIMARY KEY, -- outbox.node: the host and its sent journal's path
	boot BIGINT NOT NULL, -- its runs, counted
	replayed BIGINT NOT NULL DEFAULT 0 -- the last run that read its journal at start
);
