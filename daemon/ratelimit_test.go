package daemon_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/testkit/sampledb"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
)

// clock is a test clock that moves only when told.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// openFile opens a new handle on the SQLite store at path, closed when
// the test ends.
func openFile(t testing.TB, path string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), "sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestRateLimitsHoldAcrossRestart: the counts of SPEC section 7 live in the
// store, so a daemon restarted on the same store keeps them; they lapse
// after 24 hours.
func TestRateLimitsHoldAcrossRestart(t *testing.T) {
	const attestations, generic = 3, 2
	cfg := testConfig(t)
	cfg.Limits.AttestationsPerComptePerDay = attestations
	cfg.Limits.GenericRepliesPerAddressPerDay = generic
	path := sampledb.File(t)
	clk := newClock(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	first := openFile(t, path)
	r := newTrustRun(t, cfg, daemon.Options{Store: first, Now: clk.now})

	eva := request{from: "eva.dupont@example.org", headers: []string{arPass("example.org")},
		body: "Bonjour,\nMon attestation de droits, s'il vous plaît.\nEva\n"}
	stranger := request{from: "jean.inconnu@example.net", headers: []string{arPass("example.net")},
		body: "Bonjour,\nMon attestation de droits svp.\nJean\n"}
	// send sends q and expects want: a reply to its sender, or silence.
	send := func(t *testing.T, q request, want rules.Outcome) {
		t.Helper()
		raw, _ := r.raw(q)
		res, rs := r.send(t, raw)
		if want == rules.Suppressed {
			expectSuppressed(t, r, res, rs)
			return
		}
		expectReply(t, res, rs, want, q.from)
	}

	for range attestations {
		send(t, eva, rules.Issued)
		clk.advance(time.Hour)
	}
	for range generic {
		send(t, stranger, rules.SenderUnknown)
	}
	first.Close()

	// A new daemon on the same store file, as after a restart.
	r.restart(t, daemon.Options{Store: openFile(t, path), Now: clk.now})
	t.Run("attestation beyond the limit", func(t *testing.T) { send(t, eva, rules.Suppressed) })
	t.Run("generic reply beyond the limit", func(t *testing.T) { send(t, stranger, rules.Suppressed) })
	t.Run("another compte", func(t *testing.T) {
		raw, _ := r.raw(request{from: "marc.leroy@example.com", headers: []string{arPass("example.com")},
			body: "Bonjour,\nMon attestation de droits.\nMarc\n"})
		res, rs := r.send(t, raw)
		expectReply(t, res, rs, rules.AddressMissing, "marc.leroy@example.com")
	})
	t.Run("another address", func(t *testing.T) {
		raw, _ := r.raw(request{from: "paul.autre@example.net", headers: []string{arPass("example.net")},
			body: "Bonjour,\nMon attestation de droits.\nPaul\n"})
		res, rs := r.send(t, raw)
		expectReply(t, res, rs, rules.SenderUnknown, "paul.autre@example.net")
	})

	// Attestations went out at 9:00, 10:00 and 11:00; at 9:30 the next day
	// the first has lapsed, the others count.
	clk.advance(21*time.Hour + 30*time.Minute)
	r.restart(t, daemon.Options{Store: openFile(t, path), Now: clk.now})
	t.Run("a day later", func(t *testing.T) {
		send(t, eva, rules.Issued)
		send(t, eva, rules.Suppressed)
	})
}

func expectSuppressed(t *testing.T, r *trustRun, res daemon.Result, rs []sentMail) {
	t.Helper()
	if res.Outcome != rules.Suppressed {
		t.Errorf("outcome %s, want suppressed", res.Outcome)
	}
	if len(rs) != 0 {
		t.Errorf("%d replies went out, want none", len(rs))
	}
	if !r.inFolder(t, "Processed", res.MessageID) {
		t.Error("a suppressed message is not in Processed")
	}
}

// TestRateLimitUnderConcurrency: messages decided at once by several
// workers share one count.
func TestRateLimitUnderConcurrency(t *testing.T) {
	const limit, burst = 2, 8
	cfg := testConfig(t)
	cfg.Limits.AttestationsPerComptePerDay = limit
	cfg.Limits.GenericRepliesPerAddressPerDay = limit
	cfg.Workers = burst
	r := newTrustRun(t, cfg, daemon.Options{})
	for range burst {
		raw, _ := r.raw(request{from: "eva.dupont@example.org", headers: []string{arPass("example.org")},
			body: "Bonjour,\nMon attestation de droits.\nEva\n"})
		r.env.deliver(t, raw)
		raw, _ = r.raw(request{from: "jean.inconnu@example.net", headers: []string{arPass("example.net")},
			body: "Bonjour,\nMon attestation de droits.\nJean\n"})
		r.env.deliver(t, raw)
	}
	count := map[rules.Outcome]int{}
	for _, res := range r.d.collect(t, 2*burst, 30*time.Second) {
		count[res.Outcome]++
	}
	if count[rules.Issued] != limit || count[rules.SenderUnknown] != limit || count[rules.Suppressed] != 2*(burst-limit) {
		t.Errorf("outcomes %v; want %d issued, %d sender_unknown, the rest suppressed", count, limit, limit)
	}
	if n := len(r.env.sent(t)); n != 2*limit {
		t.Errorf("%d replies went out, want %d", n, 2*limit)
	}
}
