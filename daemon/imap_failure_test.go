package daemon_test

import (
	"errors"
	"testing"
	"time"

	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/testkit/sampledb"
)

// Reliability (SPEC section 8) when the IMAP server fails: a restart
// mid-run, a UIDVALIDITY reset.

// TestIMAPRestart: the IMAP server goes away mid-run while mail keeps
// arriving; the daemon reconnects with back-off and catches up.
func TestIMAPRestart(t *testing.T) {
	env := newLocalEnv(t)
	reqs := mix(t, 44, "imap")
	first, second := reqs[:22], reqs[22:]
	r := start(t, env, reliabilityConfig(t), daemon.Options{})
	deliverAll(t, env, first)
	results := r.collect(t, len(first), 60*time.Second)
	if err := env.imap.Stop(); err != nil {
		t.Fatal(err)
	}
	waitLog(t, r, "imap work connection lost", 1, 30*time.Second)
	deliverAll(t, env, second) // arrives while the server is down
	waitLog(t, r, "imap work connection lost", 2, 30*time.Second)
	if err := env.imap.Start(); err != nil {
		t.Fatal(err)
	}
	results = append(results, r.collect(t, len(second), 60*time.Second)...)
	checkResults(t, reqs, results)
	checkAll(t, env, reqs)
}

// restartIMAP makes the daemon's connections drop and reconnect.
func restartIMAP(t testing.TB, env *localEnv) {
	t.Helper()
	if err := env.imap.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := env.imap.Start(); err != nil {
		t.Fatal(err)
	}
}

// TestUIDValidityReset: the server gives the mailbox a new UIDVALIDITY
// with the same messages in it. No request gets a second reply; the copies
// are filed.
func TestUIDValidityReset(t *testing.T) {
	t.Run("handled messages put back", func(t *testing.T) {
		env := newLocalEnv(t)
		db := sampledb.SQLite(t)
		reqs := mix(t, 22, "reset-done")
		r := start(t, env, reliabilityConfig(t), daemon.Options{Store: db})
		deliverAll(t, env, reqs)
		checkResults(t, reqs, r.collect(t, len(reqs), 60*time.Second))
		r.stop()
		// The server restores the mailbox from a backup: the requests are
		// back in the INBOX, under a new UIDVALIDITY.
		deliverAll(t, env, reqs)
		if _, err := env.imap.ResetUIDValidity(serviceUser, "INBOX"); err != nil {
			t.Fatal(err)
		}
		r = start(t, env, reliabilityConfig(t), daemon.Options{Store: db})
		copies := r.collect(t, len(reqs), 60*time.Second)
		for _, c := range copies {
			if c.ReplyTo != "" {
				t.Errorf("copy of %s: reported a reply to %s", c.MessageID, c.ReplyTo)
			}
		}
		replies := repliesByRequest(t, env)
		folders := folderIDs(t, env)
		for _, q := range reqs {
			if want := map[bool]int{true: 1, false: 0}[hasReply(q)]; len(replies[q.id]) != want {
				t.Errorf("%s (%s): %d replies, want %d", q.id, q.name, len(replies[q.id]), want)
			}
			if n := countID(folders[q.want.Folder], q.id); n != 2 {
				t.Errorf("%s (%s): %d copies in %s, want the original and its copy", q.id, q.name, n, q.want.Folder)
			}
		}
		if len(folders["INBOX"]) != 0 {
			t.Errorf("INBOX still holds %d messages", len(folders["INBOX"]))
		}
	})
	t.Run("replies waiting for the relay", func(t *testing.T) {
		env := newLocalEnv(t)
		env.smtp.SetFault(tempFail)
		db := sampledb.SQLite(t)
		reqs := mix(t, 22, "reset-waiting")
		r := start(t, env, reliabilityConfig(t), daemon.Options{Store: db})
		deliverAll(t, env, reqs)
		eventually(t, 30*time.Second, "every reply tried and deferred", func() bool { return allTried(t, db, countReplies(reqs)) })
		results := r.collect(t, len(reqs)-countReplies(reqs), 30*time.Second)
		if _, err := env.imap.ResetUIDValidity(serviceUser, "INBOX"); err != nil {
			t.Fatal(err)
		}
		restartIMAP(t, env)
		waitLog(t, r, "seen again under another key", countReplies(reqs), 30*time.Second)
		checkWaiting(t, env, reqs)
		env.smtp.SetFault(nil)
		results = append(results, r.collect(t, countReplies(reqs), 60*time.Second)...)
		checkResults(t, reqs, results)
		checkAll(t, env, reqs)
	})
	t.Run("request not decided yet", func(t *testing.T) {
		env := newLocalEnv(t)
		reg := &faultyRegistry{DB: sampledb.SQLite(t)}
		reg.set(func(string) error { return errors.New("registry unreachable") })
		cfg := reliabilityConfig(t)
		cfg.Limits.MaxAttempts = 100
		reqs := []req{sample(t, "01-eva-simple.eml", "reset-undecided@reliability.test")}
		r := start(t, env, cfg, daemon.Options{Store: reg})
		deliverAll(t, env, reqs)
		waitLog(t, r, "cannot decide message now", 1, 30*time.Second)
		if _, err := env.imap.ResetUIDValidity(serviceUser, "INBOX"); err != nil {
			t.Fatal(err)
		}
		restartIMAP(t, env)
		waitLog(t, r, "seen again under another key", 1, 30*time.Second)
		reg.set(nil)
		checkResults(t, reqs, r.collect(t, len(reqs), 60*time.Second))
		checkAll(t, env, reqs)
	})
}
