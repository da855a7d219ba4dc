-- attestd store schema, version 5: the sent handover in the database
-- (issue 11). A reply is noted here the instant its final dot is out to
-- the relay, before the relay answers, and the note goes in the
-- transaction that records it sent (or when the relay refuses it). Every
-- sender reads it before dialing: a replica killed between the dot and the
-- record does not make another replica send the reply again. It plays the
-- part of the file journal (outbox.journal) for a cluster.
CREATE TABLE sent_handover (
	outbox_id BIGINT PRIMARY KEY,
	holder TEXT NOT NULL, -- the process that handed it over (host:pid)
	at BIGINT NOT NULL
);
