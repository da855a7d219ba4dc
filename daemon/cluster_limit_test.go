package daemon_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/testkit/sampledb"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
)

// TestRateLimitAcrossReplicas: three daemons on one store (a cluster's
// replicas, each watching a mailbox of its own) get 8 requests of one
// compte at once, under a limit of 2 a day: exactly 2 attestations go out,
// the others are suppressed (SPEC section 7), on SQLite as on PostgreSQL.
func TestRateLimitAcrossReplicas(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := sampledb.File(t)
		rateLimitAcross(t, func() *store.DB { return openFile(t, path) })
	})
	t.Run("postgres", func(t *testing.T) { rateLimitAcross(t, postgresStore(t)) })
}

// postgresStore creates a PostgreSQL schema of its own loaded with the
// sample registry and returns how to open it, once per replica.
func postgresStore(t *testing.T) (open func() *store.DB) {
	t.Helper()
	dsn := postgresSchema(t)
	return func() *store.DB { return openPostgres(t, dsn) }
}

func rateLimitAcross(t *testing.T, open func() *store.DB) {
	const replicas, burst, limit = 3, 8, 2
	cfg := testConfig(t)
	cfg.Limits.AttestationsPerComptePerDay = limit
	cfg.Workers = burst
	// Mailboxes of their own, named apart as the ledger's keys require.
	runs := make([]*trustRun, replicas)
	for i := range runs {
		env, c := newLocalEnv(t), cfg
		c.IMAP.Mailbox = fmt.Sprintf("Caisse%d", i)
		if err := env.imap.CreateMailbox(serviceUser, c.IMAP.Mailbox); err != nil {
			t.Fatal(err)
		}
		runs[i] = newTrustRunOn(t, env, c, daemon.Options{Store: open()})
	}
	delivered := make([]int, replicas)
	for i := range burst {
		r := runs[i%replicas]
		raw, _ := r.raw(request{from: "eva.dupont@example.org", headers: []string{arPass("example.org")},
			body: "Bonjour,\nMon attestation de droits.\nEva\n"})
		if _, err := r.env.imap.Append(serviceUser, r.cfg.IMAP.Mailbox, raw); err != nil {
			t.Fatal(err)
		}
		delivered[i%replicas]++
	}
	count := map[rules.Outcome]int{}
	for i, r := range runs {
		for _, res := range r.d.collect(t, delivered[i], 60*time.Second) {
			count[res.Outcome]++
		}
	}
	if count[rules.Issued] != limit || count[rules.Suppressed] != burst-limit {
		t.Errorf("outcomes %v; want %d issued, the other %d suppressed", count, limit, burst-limit)
	}
	// Replies are told apart by their Message-ID: today another replica's
	// outbox sweep may send a reply a second time while its replica is
	// sending it (the retry job is per process until River, issue 11); that
	// is the outbox's concern, not the limit's.
	replies := map[string]bool{}
	for _, r := range runs {
		for _, m := range r.env.sent(t) {
			replies[msgIDOf(t, m.Raw)] = true
		}
	}
	if len(replies) != limit {
		t.Errorf("%d attestations went out, want %d", len(replies), limit)
	}
}
