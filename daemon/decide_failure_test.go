package daemon_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/testkit/sampledb"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
)

// Reliability (SPEC section 8) while deciding: the registry unreachable,
// copies of one request, a panic, messages left undecided by a crash.

// faultyRegistry is the store with registry look-ups that fail (or panic)
// on demand, while the ledger and the outbox keep working.
type faultyRegistry struct {
	*store.DB
	mu      sync.Mutex
	fault   func(key string) error
	lookups int
}

func (f *faultyRegistry) set(fault func(key string) error) {
	f.mu.Lock()
	f.fault = fault
	f.mu.Unlock()
}

func (f *faultyRegistry) check(key string) error {
	f.mu.Lock()
	fault := f.fault
	f.lookups++
	f.mu.Unlock()
	if fault == nil {
		return nil
	}
	return fault(key)
}

func (f *faultyRegistry) ComptesByEmail(ctx context.Context, email string) ([]*rules.Compte, error) {
	if err := f.check(email); err != nil {
		return nil, err
	}
	return f.DB.ComptesByEmail(ctx, email)
}

func (f *faultyRegistry) CompteByNIR(ctx context.Context, nir string) (*rules.Compte, error) {
	if err := f.check(nir); err != nil {
		return nil, err
	}
	return f.DB.CompteByNIR(ctx, nir)
}

// failedReply checks that a request ended failed: the generic reply to its
// sender, no personal data beyond the address, the original in Manual.
func failedReply(t testing.TB, env *localEnv, q req, res daemon.Result) {
	t.Helper()
	if res.Outcome != rules.Failed || res.Folder != "Manual" {
		t.Fatalf("%s: %s in %s, want failed in Manual", q.name, res.Outcome, res.Folder)
	}
	rs := repliesByRequest(t, env)[q.id]
	if len(rs) != 1 {
		t.Fatalf("%s: %d replies, want the one failed reply", q.name, len(rs))
	}
	rp := readReply(t, rs[0])
	if !slices.Equal(rp.to, []string{*q.want.ReplyTo}) || rp.header.Get("X-Attestation-Outcome") != "failed" {
		t.Errorf("%s: reply to %v saying %q", q.name, rp.to, rp.header.Get("X-Attestation-Outcome"))
	}
	if !strings.Contains(rp.text, "n'a pas abouti") || rp.pdf != nil {
		t.Errorf("%s: the failed reply must say the request n'a pas abouti, without a PDF:\n%s", q.name, rp.text)
	}
	if strings.Contains(rp.text, "Eva") || strings.Contains(rp.text, "DUPONT") {
		t.Errorf("%s: the failed reply holds personal data:\n%s", q.name, rp.text)
	}
	folders := folderIDs(t, env)
	if !slices.Contains(folders["Manual"], q.id) {
		t.Errorf("%s: original in %v, want Manual", q.name, whereIs(folders, q.id))
	}
}

// TestRegistryUnavailable: the registry cannot be read. Each message is
// tried limits.max_attempts times, then ends failed with its generic reply
// and the original in Manual; messages that need no registry are handled
// meanwhile, and a registry that comes back in time changes nothing.
func TestRegistryUnavailable(t *testing.T) {
	t.Run("for good", func(t *testing.T) {
		env := newLocalEnv(t)
		reg := &faultyRegistry{DB: sampledb.SQLite(t)}
		reg.set(func(string) error { return errors.New("registry unreachable: connection refused") })
		cfg := reliabilityConfig(t)
		cfg.Limits.MaxAttempts = 2
		eva := sample(t, "01-eva-simple.eml", "db-down@reliability.test")
		other := sample(t, "13-autre-demande-ij.eml", "db-down-other@reliability.test")
		r := start(t, env, cfg, daemon.Options{Store: reg})
		deliverAll(t, env, []req{eva, other})
		results := r.collect(t, 2, 60*time.Second)
		checkResults(t, []req{other}, results)
		for _, res := range results {
			if res.MessageID == eva.id {
				failedReply(t, env, eva, res)
			}
		}
		if n := strings.Count(r.logs.String(), "cannot decide message now"); n != cfg.Limits.MaxAttempts {
			t.Errorf("the message was tried %d times, want limits.max_attempts = %d", n, cfg.Limits.MaxAttempts)
		}
		// The next message is handled as usual once the registry is back.
		reg.set(nil)
		next := sample(t, "01-eva-simple.eml", "db-back@reliability.test")
		deliverAll(t, env, []req{next})
		checkResults(t, []req{next}, r.collect(t, 1, 60*time.Second))
	})
	t.Run("back in time", func(t *testing.T) {
		env := newLocalEnv(t)
		reg := &faultyRegistry{DB: sampledb.SQLite(t)}
		var failures atomic.Int64
		reg.set(func(string) error {
			if failures.Add(1) <= 2 {
				return errors.New("registry unreachable")
			}
			return nil
		})
		cfg := reliabilityConfig(t)
		cfg.Limits.MaxAttempts = 3
		reqs := []req{sample(t, "01-eva-simple.eml", "db-flaky@reliability.test")}
		r := start(t, env, cfg, daemon.Options{Store: reg})
		deliverAll(t, env, reqs)
		checkResults(t, reqs, r.collect(t, 1, 60*time.Second))
		checkAll(t, env, reqs)
	})
}

// TestSameMessageIDTwice: two copies of one request (two UIDs, one
// Message-ID) get one reply, whether they arrive together or apart.
func TestSameMessageIDTwice(t *testing.T) {
	env := newLocalEnv(t)
	r := start(t, env, reliabilityConfig(t), daemon.Options{})
	q := sample(t, "02-benoit-famille-mentions.eml", "twice@reliability.test")
	next := sample(t, "05-marc-sans-adresse.eml", "after-twice@reliability.test")
	deliverAll(t, env, []req{q, q, next})
	results := r.collect(t, 3, 60*time.Second)
	env.deliver(t, q.raw) // a third copy, later
	results = append(results, r.collect(t, 1, 60*time.Second)...)
	var outcomes []rules.Outcome
	for _, res := range results {
		if res.MessageID == q.id {
			outcomes = append(outcomes, res.Outcome)
		}
	}
	if len(outcomes) != 3 || !slices.Contains(outcomes, rules.Issued) {
		t.Errorf("the three copies ended %v, want three results, one issued", outcomes)
	}
	replies := repliesByRequest(t, env)
	if len(replies[q.id]) != 1 || len(replies[next.id]) != 1 {
		t.Errorf("%d replies to the request sent three times, %d to the next; want one each", len(replies[q.id]), len(replies[next.id]))
	}
	folders := folderIDs(t, env)
	if n := countID(folders["Processed"], q.id); n != 3 || len(folders["INBOX"]) != 0 {
		t.Errorf("%d copies in Processed, %d messages left in INBOX; want 3 and 0", n, len(folders["INBOX"]))
	}
}

// TestPanicWhileDeciding: deciding one message panics, every time. The
// daemon keeps running, the others are handled, and that one ends failed
// after its attempts.
func TestPanicWhileDeciding(t *testing.T) {
	env := newLocalEnv(t)
	reg := &faultyRegistry{DB: sampledb.SQLite(t)}
	reg.set(func(key string) error {
		if key == "eva.dupont@example.org" {
			panic("registry driver bug")
		}
		return nil
	})
	cfg := reliabilityConfig(t)
	cfg.Limits.MaxAttempts = 2
	poison := sample(t, "01-eva-simple.eml", "poison@reliability.test")
	others := mix(t, 22, "beside-poison")
	others = slices.DeleteFunc(others, func(q req) bool { return strings.Contains(string(q.raw), "eva.dupont@example.org") })
	r := start(t, env, cfg, daemon.Options{Store: reg})
	deliverAll(t, env, append([]req{poison}, others...))
	results := r.collect(t, len(others)+1, 60*time.Second)
	checkResults(t, others, results)
	for _, res := range results {
		if res.MessageID == poison.id {
			failedReply(t, env, poison, res)
		}
	}
	next := sample(t, "05-marc-sans-adresse.eml", "after-poison@reliability.test")
	deliverAll(t, env, []req{next})
	checkResults(t, []req{next}, r.collect(t, 1, 60*time.Second))
}

// TestSuspectsDecidedAlone: messages that a previous run claimed but never
// decided (it was killed) are decided one at a time with nothing beside
// them, so that a message that crashes the daemon is not blamed on its
// neighbours; the others are decided as usual.
func TestSuspectsDecidedAlone(t *testing.T) {
	env := newLocalEnv(t)
	db := sampledb.SQLite(t)
	reqs := mix(t, 8, "suspect")
	deliverAll(t, env, reqs)
	snap, err := env.imap.Mailbox(serviceUser, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	suspects := map[string]bool{"marc.leroy@example.com": true, "sophie.martin@example.fr": true} // 05 and 07
	for _, m := range snap.Messages {
		q := reqs[slices.IndexFunc(reqs, func(q req) bool { return q.id == rawMessageID(m.Raw) })]
		if q.want.ReplyTo != nil && suspects[*q.want.ReplyTo] {
			key := store.MessageKey{Mailbox: "INBOX", UIDValidity: snap.UIDValidity, UID: m.UID}
			if _, err := db.Claim(context.Background(), key, q.id, q.raw); err != nil {
				t.Fatal(err)
			}
		}
	}
	var (
		mu                  sync.Mutex
		inflight, suspectIn int
		overlaps            []string
	)
	reg := &faultyRegistry{DB: db}
	reg.set(func(key string) error {
		mu.Lock()
		if suspects[key] && inflight > 0 || suspectIn > 0 {
			overlaps = append(overlaps, key)
		}
		inflight++
		if suspects[key] {
			suspectIn++
		}
		mu.Unlock()
		time.Sleep(30 * time.Millisecond) // a slow look-up: others would start meanwhile
		mu.Lock()
		inflight--
		if suspects[key] {
			suspectIn--
		}
		mu.Unlock()
		return nil
	})
	r := start(t, env, reliabilityConfig(t), daemon.Options{Store: reg})
	checkResults(t, reqs, r.collect(t, len(reqs), 60*time.Second))
	checkAll(t, env, reqs)
	mu.Lock()
	defer mu.Unlock()
	if len(overlaps) > 0 {
		t.Errorf("a suspect was decided beside other messages (look-ups of %v overlapped)", overlaps)
	}
}
