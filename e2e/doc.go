// Package e2e holds the slow end-to-end tests that run the attestd binary as
// a user would across the whole service: the crash test (crash_test.go),
// `attestd acceptance` against Dovecot and Mailpit (acceptance_test.go),
// the dates an attestation carries with --today (dates_test.go), the demo
// on requests without a Message-ID, the registry import's refusals, and
// keys/render/verify of the signed code. TestMain builds cmd/attestd once
// for all of them; `go test -short ./...` skips them all (and builds
// nothing). The tests of the command line itself (usage, --help, exit
// statuses, check-config, healthcheck, SIGHUP) stay beside its command
// table in cmd/attestd, which builds its own, version-stamped binary (also
// skipped under -short). The package has no code of its own.
//
// # The crash test
//
// TestCrash is the crash test of attestd (SPEC section 8, "never lose a
// request, never answer twice"). It starts in-process IMAP and SMTP servers (localmail),
// runs `attestd run --config` as a separate process while a stream of
// requests arrives, kills it with SIGKILL at random moments and restarts it
// each time, then lets a last clean run drain everything, stops it with
// SIGTERM (exit 0 expected) and checks every request: exactly one reply
// where its outcome has one, none otherwise, the outcome of expected.json,
// the original filed once in its folder, none left in the INBOX, no ledger
// entry left open. It prints "lost=N duplicates=N".
//
// Every message the SMTP server accepted counts, so a reply sent twice is
// a duplicate even though both copies are byte for byte the same, and any
// duplicate fails the test. SMTP has no way to ask the relay whether it has
// a message: attestd's sent journal (outbox.journal) notes each reply the
// instant its final dot is written, and a restart records the noted ones as
// sent instead of sending them again. What is left is a kill between that
// write and the note, two system calls apart. The test still tells such a
// duplicate apart with evidence (the first copy came from a killed run, and
// the ledger recorded the reply sent only after that run) and reports it;
// ATTESTD_CRASH_LENIENT=1 tolerates those to look at other failures. It
// fails on every other duplicate, on any lost request, wrong outcome or open
// ledger entry.
//
// `go test ./...` runs a short version (10 kills, a few seconds). The full
// run:
//
//	ATTESTD_CRASH_KILLS=100 go test -run '^TestCrash$' -v -timeout 30m ./e2e/
//
// ATTESTD_CRASH_REQUESTS sets the number of requests (default 60 per kill),
// ATTESTD_CRASH_BINARY runs that attestd binary instead of building one,
// ATTESTD_CRASH_SEED replays the kill moments of an earlier run and
// ATTESTD_CRASH_KEEP=DIR keeps the store, the configuration and each run's
// log in DIR.
//
// # The cluster crash test
//
// With ATTESTD_CRASH_REPLICAS=N (N > 1), TestCrash runs N `attestd run`
// replicas on the PostgreSQL of ATTESTD_TEST_POSTGRES_DSN, in a schema of
// the run's own (internal/pgtemp; dropped at the end, kept with
// ATTESTD_CRASH_KEEP), over two mailboxes of the in-process IMAP server
// (imap.mailboxes paris and lyon). Each replica keeps a sent journal file of
// its own (outbox.journal, kept across its runs) beside the database's note,
// as docs/operations.md asks of a cluster. Before each kill a share of the requests
// arrives, split between the mailboxes; after a random pause of up to 1.5 s
// a random replica is SIGKILLed and restarted at once. After the last kill
// the test waits until both INBOXes are empty and the store has no open
// ledger entry and no reply waiting, allowing five minutes for the slowest
// path (a reply job left running by a killed replica, which River rescues
// only after its rescue delay, on its leader's next pass), then stops every
// replica with SIGTERM (each must exit 0) and checks every request as
// above, in its own mailbox's folders. It prints the same "lost=N
// duplicates=N". The default is 30 requests a kill:
//
//	ATTESTD_CRASH_REPLICAS=3 ATTESTD_CRASH_KILLS=300 go test -run '^TestCrash$' -v -timeout 60m ./e2e/
//
// TestClusterAcceptance runs `attestd acceptance` against three replicas
// on Dovecot and Mailpit (skipped without them and PostgreSQL; .ci/run runs
// it on fresh servers).
package e2e
