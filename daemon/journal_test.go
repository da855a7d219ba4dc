package daemon_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/testkit/sampledb"
	"github.com/cpam/attestd/store"
)

// TestJournalNoResendAfterAStop: the relay took a reply, the store could
// not record it, and the daemon stopped (as a kill would stop it before
// MarkSent). The next run reads the sent journal, records the reply as
// sent and files the original, without sending the reply again. With the
// journal in the database, the next run is another replica: another
// connection to the same database, on SQLite as on PostgreSQL.
func TestJournalNoResendAfterAStop(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		db := sampledb.SQLite(t)
		noResendAfterAStop(t, filepath.Join(t.TempDir(), "attestd.db.sent"), func() *store.DB { return db })
	})
	t.Run("database-sqlite", func(t *testing.T) {
		path := sampledb.File(t)
		noResendAfterAStop(t, config.JournalInDatabase, func() *store.DB { return openFile(t, path) })
	})
	t.Run("database-postgres", func(t *testing.T) {
		noResendAfterAStop(t, config.JournalInDatabase, postgresStore(t))
	})
}

func noResendAfterAStop(t *testing.T, journal string, open func() *store.DB) {
	env := newLocalEnv(t)
	cfg := reliabilityConfig(t)
	cfg.Outbox.Journal = journal
	reqs := []req{sample(t, "01-eva-simple.eml", "journal@reliability.test")}

	db := open()
	st := &unrecordingStore{DB: db}
	st.failures.Store(1 << 30) // this run never records it
	first := start(t, env, cfg, daemon.Options{Store: st})
	deliverAll(t, env, reqs)
	eventually(t, 30*time.Second, "the first run's reply", func() bool { return len(env.sent(t)) == 1 })
	eventually(t, 30*time.Second, "the first run giving up recording", func() bool {
		return strings.Contains(first.logs.String(), "reply sent but not recorded")
	})
	first.stop()
	if n := len(pendingOutbox(t, db)); n != 1 {
		t.Fatalf("%d pending replies after the first run, want the unrecorded one", n)
	}

	db = open()
	second := start(t, env, cfg, daemon.Options{Store: db})
	checkResults(t, reqs, second.collect(t, 1, 60*time.Second))
	checkAll(t, env, reqs) // exactly one reply
	if !strings.Contains(second.logs.String(), "recorded as sent, not sent again") {
		t.Error("the second run's log does not say it recorded the reply from the journal")
	}
	if n := len(pendingOutbox(t, db)); n != 0 {
		t.Errorf("%d replies still pending", n)
	}
}

// TestJournalConfig: outbox.journal defaults to a file beside the SQLite
// database, is off for PostgreSQL or when said so, and a journal in a
// directory that does not exist stops the daemon at start, by name.
func TestJournalConfig(t *testing.T) {
	t.Setenv("ATTESTD_TEST_IMAP_PASSWORD", "x")
	dir := t.TempDir()
	base := "imap: {username: u, password_env: ATTESTD_TEST_IMAP_PASSWORD}\ntrust: {authserv_ids: [mx.example]}\n"
	for _, tc := range []struct{ extra, want string }{
		{"store: {driver: sqlite, dsn: " + dir + "/attestd.db}\n", dir + "/attestd.db.sent"},
		{"store: {driver: postgres, dsn: 'postgres://u@h/db'}\n", ""}, // in the database
		{"store: {driver: sqlite, dsn: " + dir + "/attestd.db}\noutbox: {journal: 'off'}\n", ""},
		{"store: {driver: postgres, dsn: 'postgres://u@h/db'}\noutbox: {journal: " + dir + "/pg.sent}\n", dir + "/pg.sent"},
	} {
		cfg, err := config.Parse([]byte(base + tc.extra))
		if err != nil {
			t.Errorf("%q: %v", tc.extra, err)
			continue
		}
		if got := cfg.Outbox.JournalPath(); got != tc.want {
			t.Errorf("%q: journal %q, want %q", tc.extra, got, tc.want)
		}
	}
	// A journal in a missing directory passes check-config (it may exist
	// only where the daemon runs) and stops the daemon at start, by name.
	cfg, err := config.Parse([]byte(base + "outbox: {journal: " + dir + "/missing/attestd.sent}\n"))
	if err != nil {
		t.Fatalf("check-config refused a journal whose directory is elsewhere: %v", err)
	}
	_, err = daemon.New(cfg, daemon.Options{Store: sampledb.SQLite(t)})
	if err == nil || !strings.Contains(err.Error(), "outbox.journal") {
		t.Errorf("journal in a missing directory: %v, want an error naming outbox.journal", err)
	}
}
