package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cpam/attestd/rules"
)

// t0 is the tests' clock: times are stored to the millisecond.
var t0 = time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)

func claim(t *testing.T, db *DB, key MessageKey, messageID string) *Claim {
	t.Helper()
	c, err := db.Claim(context.Background(), key, messageID, []byte("raw of "+messageID))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func reply(to, messageID string) *OutboxMessage {
	return &OutboxMessage{From: "attestation@cpam.example", To: []string{to},
		Raw: []byte("Message-ID: <" + messageID + ">\r\n\r\nBonjour\r\n"), MessageID: messageID}
}

func TestClaimIdempotent(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		key := MessageKey{"INBOX", 1700000000, 42}
		first := claim(t, db, key, "req-1@example.org")
		want := Claim{ID: first.ID, Key: key, MessageID: "req-1@example.org", State: StateClaimed, Attempts: 1}
		if *first != want {
			t.Fatalf("first claim = %+v, want %+v", *first, want)
		}

		// The same key again (a restart before the decision): the same
		// claim, one more attempt.
		again := claim(t, db, key, "req-1@example.org")
		want.Attempts = 2
		if *again != want {
			t.Errorf("same key again = %+v, want %+v", *again, want)
		}

		// The same Message-ID under a new UIDVALIDITY: the existing claim,
		// marked duplicate; then the new key is an alias.
		reset := MessageKey{"INBOX", 1800000000, 7}
		dup := claim(t, db, reset, "req-1@example.org")
		want.Attempts, want.Duplicate = 3, true
		if *dup != want {
			t.Errorf("after UIDVALIDITY reset = %+v, want %+v", *dup, want)
		}
		alias, err := db.Claim(ctx, reset, "", nil) // found by key alone
		if err != nil {
			t.Fatal(err)
		}
		want.Attempts = 4
		if *alias != want {
			t.Errorf("alias key = %+v, want %+v", *alias, want)
		}

		// Another message is another claim.
		other := claim(t, db, MessageKey{"INBOX", 1700000000, 43}, "req-2@example.org")
		if other.ID == first.ID || other.Duplicate || other.Attempts != 1 {
			t.Errorf("another message = %+v", *other)
		}

		// Once decided, claiming again counts no attempt.
		if err := db.RecordDecision(ctx, first.ID, Decision{Outcome: rules.NotAttestation, Folder: "Manual"}, t0); err != nil {
			t.Fatal(err)
		}
		decided := claim(t, db, key, "req-1@example.org")
		if decided.State != StateDecided || decided.Attempts != 4 || decided.Outcome != rules.NotAttestation || decided.Folder != "Manual" {
			t.Errorf("decided claim = %+v", *decided)
		}
	})
}

func TestClaimWithoutMessageID(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		raw := []byte("From: a@example.org\r\nSubject: attestation\r\n\r\nmerci\r\n")
		c1, err := db.Claim(ctx, MessageKey{"INBOX", 1, 1}, "", raw)
		if err != nil {
			t.Fatal(err)
		}
		if c1.MessageID != MessageDigest(raw) || len(c1.MessageID) != len("sha256:")+64 {
			t.Errorf("message id = %q, want the digest of the message", c1.MessageID)
		}
		// A copy of the same bytes in another mailbox is the same message.
		c2, err := db.Claim(ctx, MessageKey{"Archive", 5, 9}, "", raw)
		if err != nil {
			t.Fatal(err)
		}
		if c2.ID != c1.ID || !c2.Duplicate {
			t.Errorf("copy = %+v, want claim %d marked duplicate", *c2, c1.ID)
		}
		got, err := db.ClaimRaw(ctx, c1.ID)
		if err != nil || string(got) != string(raw) {
			t.Errorf("raw kept = %q, %v", got, err)
		}
	})
}

func TestRecordDecisionAtomic(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		c := claim(t, db, MessageKey{"INBOX", 1, 10}, "eva-1@example.org")
		d := Decision{Outcome: rules.Issued, Folder: "Processed", CompteID: "C-EVA", Reference: "ATT-20261125-0001",
			ReplyTo: "Eva.Dupont@Example.org", Reply: reply("eva.dupont@example.org", "r1@cpam.example")}
		if err := db.RecordDecision(ctx, c.ID, d, t0); err != nil {
			t.Fatal(err)
		}
		got, err := db.ClaimByID(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := Claim{ID: c.ID, Key: c.Key, MessageID: c.MessageID, State: StateDecided, Outcome: rules.Issued,
			Folder: "Processed", CompteID: "C-EVA", Reference: "ATT-20261125-0001", Attempts: 1}
		if *got != want {
			t.Errorf("claim = %+v, want %+v", *got, want)
		}
		item, err := db.OutboxForClaim(ctx, c.ID)
		if err != nil || item == nil {
			t.Fatalf("outbox for the decision: %v, %v", item, err)
		}
		wantItem := OutboxItem{ID: item.ID, ClaimID: c.ID, From: d.Reply.From, To: d.Reply.To, Raw: d.Reply.Raw,
			MessageID: "r1@cpam.example", State: OutboxPending, NextAttempt: t0, Created: t0, Updated: t0, Outcome: rules.Issued}
		if !reflect.DeepEqual(*item, wantItem) {
			t.Errorf("outbox item = %+v\nwant %+v", *item, wantItem)
		}

		// A second decision changes nothing.
		d2 := Decision{Outcome: rules.Failed, Folder: "Manual", Reply: reply("x@example.org", "r2@cpam.example")}
		if err := db.RecordDecision(ctx, c.ID, d2, t0.Add(time.Minute)); !errors.Is(err, ErrAlreadyDecided) {
			t.Errorf("second decision: %v, want ErrAlreadyDecided", err)
		}
		if again, _ := db.ClaimByID(ctx, c.ID); *again != want {
			t.Errorf("claim after a second decision = %+v", *again)
		}
		if items, _ := db.ListOutbox(ctx); len(items) != 1 || items[0].MessageID != "r1@cpam.example" {
			t.Errorf("outbox after a second decision = %+v", items)
		}

		// The database refusing the reply leaves the claim undecided.
		c3 := claim(t, db, MessageKey{"INBOX", 1, 11}, "eva-2@example.org")
		abortInserts(t, db, "outbox", "NEW.message_id = 'boom@cpam.example'")
		d3 := d
		d3.Reply = reply("eva.dupont@example.org", "boom@cpam.example")
		if err := db.RecordDecision(ctx, c3.ID, d3, t0); err == nil {
			t.Fatal("decision recorded although its reply was refused")
		}
		if got, _ := db.ClaimByID(ctx, c3.ID); got.State != StateClaimed || got.Outcome != "" {
			t.Errorf("claim after a failed decision = %+v, want it claimed, undecided", *got)
		}
		if n, _ := db.CountIssuedSince(ctx, "C-EVA", t0); n != 1 {
			t.Errorf("issued count after a failed decision = %d, want 1", n)
		}

		// No reply, no outbox row.
		c4 := claim(t, db, MessageKey{"INBOX", 1, 12}, "auto@example.org")
		if err := db.RecordDecision(ctx, c4.ID, Decision{Outcome: rules.Suppressed, Folder: "Processed"}, t0); err != nil {
			t.Fatal(err)
		}
		if item, err := db.OutboxForClaim(ctx, c4.ID); item != nil || err != nil {
			t.Errorf("outbox for a decision without reply = %v, %v", item, err)
		}

		if err := db.RecordDecision(ctx, 999999, d, t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown claim: %v, want ErrNotFound", err)
		}
		for _, bad := range []Decision{{Outcome: "maybe", Folder: "X"}, {Outcome: rules.Issued},
			{Outcome: rules.Issued, Folder: "X", Reply: &OutboxMessage{From: "a@b", Raw: []byte("x")}}} {
			if err := db.RecordDecision(ctx, c4.ID, bad, t0); err == nil || errors.Is(err, ErrAlreadyDecided) {
				t.Errorf("decision %+v: %v, want it refused as invalid", bad, err)
			}
		}
	})
}

func TestMarkDoneAndUnfinished(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		a := claim(t, db, MessageKey{"INBOX", 1, 1}, "a@x")
		b := claim(t, db, MessageKey{"INBOX", 1, 2}, "b@x")
		c := claim(t, db, MessageKey{"INBOX", 1, 3}, "c@x")
		claim(t, db, MessageKey{"Other", 1, 1}, "o@x")

		if err := db.MarkDone(ctx, a.ID, t0); !errors.Is(err, ErrWrongState) {
			t.Errorf("done before decided: %v, want ErrWrongState", err)
		}
		for _, id := range []int64{a.ID, b.ID} {
			if err := db.RecordDecision(ctx, id, Decision{Outcome: rules.Suppressed, Folder: "Processed"}, t0); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.MarkDone(ctx, a.ID, t0); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkDone(ctx, a.ID, t0); err != nil {
			t.Errorf("done twice: %v, want no error", err)
		}
		if err := db.MarkDone(ctx, 999999, t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown claim: %v, want ErrNotFound", err)
		}
		got, err := db.Unfinished(ctx, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		var desc []string
		for _, u := range got {
			desc = append(desc, fmt.Sprintf("%d %s", u.ID, u.State))
		}
		want := []string{fmt.Sprintf("%d decided", b.ID), fmt.Sprintf("%d claimed", c.ID)}
		if !reflect.DeepEqual(desc, want) {
			t.Errorf("unfinished = %v, want %v", desc, want)
		}
		if got, _ := db.ClaimByID(ctx, a.ID); got.State != StateDone {
			t.Errorf("claim a = %+v, want done", *got)
		}
		if _, err := db.ClaimByID(ctx, 999999); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown claim: %v, want ErrNotFound", err)
		}
	})
}

// TestMarkDoneAll: the claims of one MOVE are closed together; one that
// cannot be (undecided, unknown) is named in the error and holds back none
// of the others.
func TestMarkDoneAll(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		var ids []int64
		for uid := uint32(1); uid <= 4; uid++ {
			c := claim(t, db, MessageKey{"INBOX", 1, uid}, fmt.Sprintf("m%d@x", uid))
			ids = append(ids, c.ID)
			if uid == 3 {
				continue // left undecided
			}
			if err := db.RecordDecision(ctx, c.ID, Decision{Outcome: rules.Suppressed, Folder: "Processed"}, t0); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.MarkDone(ctx, ids[3], t0); err != nil { // done already: no error
			t.Fatal(err)
		}
		err := db.MarkDoneAll(ctx, append(ids, 999999), t0)
		if !errors.Is(err, ErrWrongState) || !errors.Is(err, ErrNotFound) {
			t.Errorf("MarkDoneAll = %v, want ErrWrongState (claim %d) and ErrNotFound (999999)", err, ids[2])
		}
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("claim %d:", ids[2])) || strings.Contains(err.Error(), fmt.Sprintf("claim %d:", ids[0])) {
			t.Errorf("MarkDoneAll error %q should name claim %d and 999999 only", err, ids[2])
		}
		want := map[int64]ClaimState{ids[0]: StateDone, ids[1]: StateDone, ids[2]: StateClaimed, ids[3]: StateDone}
		for id, state := range want {
			if c, err := db.ClaimByID(ctx, id); err != nil || c.State != state {
				t.Errorf("claim %d = %+v, %v; want %s", id, c, err, state)
			}
		}
		if err := db.MarkDoneAll(ctx, ids[:2], t0); err != nil {
			t.Errorf("MarkDoneAll again on done claims: %v, want nil", err)
		}
	})
}

func TestRateLimitCounts(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		n := 0
		decide := func(at time.Time, d Decision) {
			t.Helper()
			n++
			c := claim(t, db, MessageKey{"INBOX", 1, uint32(n)}, fmt.Sprintf("m%d@x", n))
			d.Folder = "Processed"
			if err := db.RecordDecision(ctx, c.ID, d, at); err != nil {
				t.Fatal(err)
			}
		}
		for _, h := range []int{0, 1, 20, 25} {
			decide(t0.Add(time.Duration(h)*time.Hour), Decision{Outcome: rules.Issued, CompteID: "C-BENOIT"})
		}
		decide(t0.Add(2*time.Hour), Decision{Outcome: rules.RightsClosed, CompteID: "C-BENOIT"})
		decide(t0.Add(2*time.Hour), Decision{Outcome: rules.Issued, CompteID: "C-EVA"})
		for _, h := range []int{0, 3, 30} {
			decide(t0.Add(time.Duration(h)*time.Hour), Decision{Outcome: rules.SenderUnknown,
				ReplyTo: "Inconnu@Example.COM", Generic: true})
		}
		decide(t0.Add(4*time.Hour), Decision{Outcome: rules.Issued, ReplyTo: "inconnu@example.com"})
		decide(t0.Add(5*time.Hour), Decision{Outcome: rules.SenderUnknown, ReplyTo: "autre@example.com", Generic: true})

		at := t0.Add(25 * time.Hour)
		since := at.Add(-24 * time.Hour) // t0+1h, included
		for _, tc := range []struct {
			count func() (int, error)
			want  int
			what  string
		}{
			{func() (int, error) { return db.CountIssuedSince(ctx, "C-BENOIT", since) }, 3, "issued to C-BENOIT in the last 24 h"},
			{func() (int, error) { return db.CountIssuedSince(ctx, "C-BENOIT", t0) }, 4, "issued to C-BENOIT since t0"},
			{func() (int, error) { return db.CountIssuedSince(ctx, "C-EVA", since) }, 1, "issued to C-EVA"},
			{func() (int, error) { return db.CountIssuedSince(ctx, "C-NOBODY", since) }, 0, "issued to nobody"},
			{func() (int, error) { return db.CountGenericSince(ctx, "inconnu@example.com", since) }, 2, "generic to inconnu@"},
			{func() (int, error) { return db.CountGenericSince(ctx, " INCONNU@example.com", t0) }, 3, "generic to INCONNU@ since t0"},
			{func() (int, error) { return db.CountGenericSince(ctx, "autre@example.com", since) }, 1, "generic to autre@"},
		} {
			got, err := tc.count()
			if err != nil || got != tc.want {
				t.Errorf("%s = %d, %v; want %d", tc.what, got, err, tc.want)
			}
		}

		counts, err := db.OutcomeCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[rules.Outcome]int{rules.Issued: 6, rules.RightsClosed: 1, rules.SenderUnknown: 4}
		if !reflect.DeepEqual(counts, want) {
			t.Errorf("outcome counts = %v, want %v", counts, want)
		}
	})
}

func TestPurgeRaw(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		handle := func(uid uint32, done time.Time) *Claim {
			t.Helper()
			c := claim(t, db, MessageKey{"INBOX", 1, uid}, fmt.Sprintf("m%d@x", uid))
			d := Decision{Outcome: rules.Issued, Folder: "Processed", CompteID: "C-EVA", Reference: fmt.Sprint("ref-", uid),
				Reply: reply("eva.dupont@example.org", fmt.Sprintf("r%d@cpam.example", uid))}
			if err := db.RecordDecision(ctx, c.ID, d, done); err != nil {
				t.Fatal(err)
			}
			item, _ := db.OutboxForClaim(ctx, c.ID)
			if err := db.MarkSent(ctx, item.ID, done); err != nil {
				t.Fatal(err)
			}
			if err := db.MarkDone(ctx, c.ID, done); err != nil {
				t.Fatal(err)
			}
			return c
		}
		old := handle(1, t0)
		recent := handle(2, t0.Add(48*time.Hour))
		pending := claim(t, db, MessageKey{"INBOX", 1, 3}, "m3@x")

		n, err := db.PurgeRaw(ctx, t0.Add(24*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("purged %d, %v; want 1", n, err)
		}
		if raw, err := db.ClaimRaw(ctx, old.ID); raw != nil || err != nil {
			t.Errorf("old request kept %q, %v", raw, err)
		}
		if item, _ := db.OutboxForClaim(ctx, old.ID); item.Raw != nil || item.State != OutboxSent {
			t.Errorf("old reply = %+v, want sent, without content", item)
		}
		if got, _ := db.ClaimByID(ctx, old.ID); got.Outcome != rules.Issued || got.Reference != "ref-1" {
			t.Errorf("old outcome record = %+v, want kept", *got)
		}
		for _, c := range []*Claim{recent, pending} {
			if raw, _ := db.ClaimRaw(ctx, c.ID); len(raw) == 0 {
				t.Errorf("claim %d lost its content", c.ID)
			}
		}
		if item, _ := db.OutboxForClaim(ctx, recent.ID); len(item.Raw) == 0 {
			t.Errorf("recent reply lost its content")
		}
		if n, _ := db.PurgeRaw(ctx, t0.Add(24*time.Hour)); n != 0 {
			t.Errorf("second purge = %d, want 0", n)
		}
		if counts, _ := db.OutcomeCounts(ctx); counts[rules.Issued] != 2 {
			t.Errorf("counts after purge = %v", counts)
		}
	})
}

// Eight goroutines claim at once: on distinct keys every claim is new; on
// the same messages under distinct keys (copies), each message gets exactly
// one claim and every attempt is counted. Run with -race.
func TestConcurrentClaims(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		const workers, perWorker = 8, 20
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			ids  = map[int64]bool{}
			dups = map[int64]int{}
		)
		errs := make(chan error, workers*perWorker*2)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWorker {
					c, err := db.Claim(ctx, MessageKey{"INBOX", 1, uint32(w*perWorker + i + 1)}, fmt.Sprintf("own-%d-%d@x", w, i), []byte("x"))
					if err != nil {
						errs <- err
						continue
					}
					c2, err := db.Claim(ctx, MessageKey{fmt.Sprint("Copy", w), 1, uint32(i + 1)}, fmt.Sprintf("shared-%d@x", i), []byte("y"))
					if err != nil {
						errs <- err
						continue
					}
					mu.Lock()
					ids[c.ID] = true
					if c2.Duplicate {
						dups[c2.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if len(ids) != workers*perWorker {
			t.Errorf("%d distinct claims for %d distinct messages", len(ids), workers*perWorker)
		}
		for i := range perWorker {
			c, err := db.Claim(ctx, MessageKey{"Copy0", 1, uint32(i + 1)}, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.Attempts != workers+1 || dups[c.ID] != workers-1 {
				t.Errorf("shared message %d: %d attempts and %d duplicates, want %d and %d",
					i, c.Attempts, dups[c.ID], workers+1, workers-1)
			}
		}
	})
}
