package daemon_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/testkit/sampledb"
	"github.com/cpam/attestd/store"
)

// Reliability (SPEC section 8) of the ledger and the outbox: a reply being
// sent, claims left open, a sent reply the store could not record.

// countingStore counts the reply jobs' looks at their reply.
type countingStore struct {
	*store.DB
	looks atomic.Int64
}

func (c *countingStore) OutboxByID(ctx context.Context, id int64) (*store.OutboxItem, error) {
	c.looks.Add(1)
	return c.DB.OutboxByID(ctx, id)
}

// slowMailer holds its first Send until released, and counts the Sends of
// each message.
type slowMailer struct {
	blocked, release chan struct{}
	mu               sync.Mutex
	calls            int
	sends            map[string]int // by the reply's Message-ID
}

func (m *slowMailer) Send(_ context.Context, _ string, _ []string, raw []byte) error {
	m.mu.Lock()
	m.calls++
	first := m.calls == 1
	m.sends[rawMessageID(raw)]++
	m.mu.Unlock()
	if first {
		close(m.blocked)
		<-m.release
	}
	return nil
}

// TestSendingNotRetriedMeanwhile: while the worker is sending a reply (the
// relay slower than smtp.timeout, which this mailer ignores), an operator
// retries it (`attestd outbox retry`): the job that gives it finds the
// reply being sent and leaves it alone. A reply sent at once has no job of
// its own; this is how a job meets its first send.
func TestSendingNotRetriedMeanwhile(t *testing.T) {
	env := newLocalEnv(t)
	st := &countingStore{DB: sampledb.SQLite(t)}
	m := &slowMailer{blocked: make(chan struct{}), release: make(chan struct{}), sends: map[string]int{}}
	cfg := reliabilityConfig(t)
	cfg.SMTP.Timeout = config.Duration(100 * time.Millisecond)
	r := start(t, env, cfg, daemon.Options{Store: st, Mailer: m})
	defer func() {
		select {
		case <-m.release:
		default:
			close(m.release) // a failure below: let the daemon stop
		}
	}()
	reqs := mix(t, 3, "slow")
	deliverAll(t, env, reqs)
	select {
	case <-m.blocked:
	case <-time.After(30 * time.Second):
		t.Fatal("no reply was sent")
	}
	pending, err := st.PendingReplies(context.Background())
	if err != nil || len(pending) == 0 {
		t.Fatalf("pending replies during the send: %v, %v; want the one being sent", pending, err)
	}
	retried := 0
	for _, id := range pending {
		switch err := st.RetryOutbox(context.Background(), id, time.Now()); {
		case err == nil:
			retried++
		case !errors.Is(err, store.ErrWrongState): // sent meanwhile: not the one held
			t.Fatal(err)
		}
	}
	if retried == 0 {
		t.Fatal("the reply being sent could not be retried")
	}
	eventually(t, 60*time.Second, "two looks of the reply's job during the send", func() bool { return st.looks.Load() >= 2 })
	close(m.release)
	checkResults(t, reqs, r.collect(t, len(reqs), 60*time.Second))
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, n := range m.sends {
		if n != 1 {
			t.Errorf("reply %s sent %d times, want once", id, n)
		}
	}
	if len(m.sends) != countReplies(reqs) {
		t.Errorf("%d replies sent, want %d", len(m.sends), countReplies(reqs))
	}
}

// forgetfulStore fails every MarkDone: the messages are filed, their
// claims stay open, as after a crash between the MOVE and MarkDone.
type forgetfulStore struct{ *store.DB }

func (forgetfulStore) MarkDone(context.Context, int64, time.Time) error {
	return errors.New("store unreachable")
}

func (forgetfulStore) MarkDoneAll(context.Context, []int64, time.Time) error {
	return errors.New("store unreachable")
}

// TestResumeClosesFiledClaims: a restart closes the ledger entries of
// messages that were filed before the crash, without answering them again.
func TestResumeClosesFiledClaims(t *testing.T) {
	env := newLocalEnv(t)
	db := sampledb.SQLite(t)
	reqs := mix(t, 22, "resume")
	r := start(t, env, reliabilityConfig(t), daemon.Options{Store: forgetfulStore{db}})
	deliverAll(t, env, reqs)
	checkResults(t, reqs, r.collect(t, len(reqs), 60*time.Second))
	r.stop()
	open, err := db.Unfinished(context.Background(), "INBOX")
	if err != nil || len(open) != len(reqs) {
		t.Fatalf("%d claims left open by the failing MarkDone (%v), want %d", len(open), err, len(reqs))
	}
	r = start(t, env, reliabilityConfig(t), daemon.Options{Store: db})
	waitLog(t, r, "claim closed on resumption", len(reqs), 30*time.Second)
	open, err = db.Unfinished(context.Background(), "INBOX")
	if err != nil || len(open) != 0 {
		t.Errorf("%d claims still open after the restart (%v)", len(open), err)
	}
	checkAll(t, env, reqs)
}

// unrecordingStore fails the first failures MarkSent calls: the relay has
// the reply, the store cannot say so yet.
type unrecordingStore struct {
	*store.DB
	failures atomic.Int64
}

func (s *unrecordingStore) MarkSent(ctx context.Context, id int64, now time.Time) error {
	if s.failures.Add(-1) >= 0 {
		return errors.New("database is locked")
	}
	return s.DB.MarkSent(ctx, id, now)
}

// TestSentButNotRecorded: the relay accepted a reply but recording it
// fails for a while. The daemon keeps trying to record it and never sends
// it again; the original is filed once it is recorded.
func TestSentButNotRecorded(t *testing.T) {
	env := newLocalEnv(t)
	st := &unrecordingStore{DB: sampledb.SQLite(t)}
	st.failures.Store(6) // more than one delivery's tries
	reqs := []req{sample(t, "01-eva-simple.eml", "unrecorded@reliability.test")}
	r := start(t, env, reliabilityConfig(t), daemon.Options{Store: st})
	deliverAll(t, env, reqs)
	checkResults(t, reqs, r.collect(t, 1, 60*time.Second))
	checkAll(t, env, reqs)
	if !strings.Contains(r.logs.String(), "reply sent but not recorded") {
		t.Errorf("the log does not say a reply was sent but not recorded")
	}
	if n := st.failures.Load(); n >= 0 {
		t.Errorf("MarkSent failed %d times fewer than planned: the test did not test", n+1)
	}
}
