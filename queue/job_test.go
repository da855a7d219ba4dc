package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/cpam/attestd/internal/localmail"
	"github.com/cpam/attestd/internal/testkit"
	"github.com/cpam/attestd/outbox"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
)

// A replica of the tests below: its own connections to the one store file
// (a process of a cluster, or the same process after a restart), its queue
// and its work queue.
type replica struct {
	db   *store.DB
	q    *Queue
	jobs *Jobs
}

// jobsTest is a store and an SMTP relay shared by replicas.
type jobsTest struct {
	t           *testing.T
	driver, dsn string
	smtp        *localmail.SMTPServer
}

// newJobsTest is an SQLite store file.
func newJobsTest(t *testing.T) *jobsTest {
	srv, err := localmail.StartSMTP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &jobsTest{t: t, driver: store.DriverSQLite, dsn: filepath.Join(t.TempDir(), "attestd.db"), smtp: srv}
}

// onBothStores runs test on SQLite, then on PostgreSQL in a schema of its
// own when ATTESTD_TEST_POSTGRES_DSN names one.
func onBothStores(t *testing.T, test func(t *testing.T, e *jobsTest)) {
	t.Run("sqlite", func(t *testing.T) { test(t, newJobsTest(t)) })
	t.Run("postgres", func(t *testing.T) {
		dsn, _ := testkit.PostgresSchema(t)
		e := newJobsTest(t)
		e.driver, e.dsn = store.DriverPostgres, dsn
		test(t, e)
	})
}

// replica opens the store and makes a work queue with a short grace, and
// the given periodic jobs; it starts it when start is set.
func (e *jobsTest) replica(start bool, periodic ...Periodic) *replica {
	t := e.t
	ctx := context.Background()
	db, err := store.Open(ctx, e.driver, e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sender := outbox.NewSender(outbox.SMTPConfig{Address: e.smtp.Addr(), Timeout: 5 * time.Second})
	t.Cleanup(func() { sender.Close() })
	log := slog.New(slog.DiscardHandler)
	q, err := New(Options{Store: db, Mailer: sender, Decider: noDecider{}, Logger: log,
		Retry: RetryPolicy{Initial: 100 * time.Millisecond, Max: 200 * time.Millisecond, MaxAttempts: 5}})
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := NewJobs(ctx, JobsOptions{Store: db, Queue: q, Grace: 100 * time.Millisecond, JobTimeout: 10 * time.Second,
		Periodic: periodic, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{db: db, q: q, jobs: jobs}
	if start {
		if err := jobs.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.stop)
	}
	return r
}

func (r *replica) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.jobs.Stop(ctx)
}

// decide claims a message and records its decision with a reply, as
// Handle does before it sends the reply; it returns the reply.
func (r *replica) decide(t *testing.T, uid uint32) *store.OutboxItem {
	ctx := context.Background()
	c, err := r.db.Claim(ctx, store.MessageKey{Mailbox: "INBOX", UIDValidity: 1, UID: uid}, fmt.Sprintf("req%d@test", uid), []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	raw := fmt.Appendf(nil, "From: attestation@cpam.example\r\nTo: a@example.com\r\nMessage-Id: <reply%d@test>\r\nSubject: r\r\n\r\nbody\r\n", uid)
	err = r.db.RecordDecision(ctx, c.ID, store.Decision{Outcome: rules.Issued, Folder: "Processed",
		Reply: &store.OutboxMessage{From: "attestation@cpam.example", To: []string{"a@example.com"}, Raw: raw}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	it, err := r.db.OutboxForClaim(ctx, c.ID)
	if err != nil || it == nil {
		t.Fatalf("the decision's reply: %v, %v", it, err)
	}
	return it
}

// replyJobs lists the reply jobs of the store in the given states (all
// when none).
func (r *replica) replyJobs(t *testing.T, states ...rivertype.JobState) []*rivertype.JobRow {
	p := river.NewJobListParams().Kinds(replyArgs{}.Kind()).First(100)
	if len(states) > 0 {
		p = p.States(states...)
	}
	res, err := r.jobs.client.JobList(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return res.Jobs
}

func (r *replica) outbox(t *testing.T, id int64) *store.OutboxItem {
	it, err := r.db.OutboxByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A process dies between the decision and the send that follows it, and
// the message is no longer there to be swept again: the restart gives the
// pending reply a job, which sends it once.
func TestJobSendsAfterCrash(t *testing.T) { onBothStores(t, testJobSendsAfterCrash) }

func testJobSendsAfterCrash(t *testing.T, e *jobsTest) {
	dead := e.replica(false)
	it := dead.decide(t, 1)
	dead.db.Close() // killed before sending

	r := e.replica(true)
	waitFor(t, "the reply sent by its job", func() bool { return r.outbox(t, it.ID).State == store.OutboxSent })
	r.stop()
	if n := len(e.smtp.Messages()); n != 1 {
		t.Errorf("the relay received %d replies, want 1", n)
	}
	if got := r.outbox(t, it.ID); got.Attempts != 1 {
		t.Errorf("the reply took %d attempts, want 1", got.Attempts)
	}
	if jobs := r.replyJobs(t, rivertype.JobStateCompleted); len(jobs) != 1 {
		t.Errorf("%d completed reply jobs, want 1", len(jobs))
	}
}

// A replica dies between the decision and the send, and its message is
// moved out of the mailbox by hand meanwhile. The replica that takes the
// mailbox over was running already (its start found nothing pending): the
// session it starts on the mailbox (Resume) gives the reply its job, which
// sends it once.
func TestResumeGivesAJobToAReplyWhoseMessageIsGone(t *testing.T) {
	e := newJobsTest(t)
	taker := e.replica(true)
	dead := e.replica(false)
	it := dead.decide(t, 1)
	dead.db.Close() // killed before sending
	if jobs := taker.replyJobs(t); len(jobs) != 0 {
		t.Fatalf("%d reply jobs before the session, want none", len(jobs))
	}
	if suspects := taker.q.Resume(context.Background(), "INBOX", 1, map[uint32]bool{}); len(suspects) != 0 {
		t.Errorf("suspects %v: the message was decided, not only claimed", suspects)
	}
	waitFor(t, "the reply sent by its job", func() bool { return taker.outbox(t, it.ID).State == store.OutboxSent })
	taker.stop()
	if n := len(e.smtp.Messages()); n != 1 {
		t.Errorf("the relay received %d replies, want 1", n)
	}
}

// The relay answers 451 to the send that follows the decision and to the
// job's first retry, then takes the reply: the job retries it on the
// outbox's back-off and it arrives once.
func TestJobRetriesTemporaryFailure(t *testing.T) {
	e := newJobsTest(t)
	var refusals atomic.Int64
	e.smtp.SetFault(func(string, []string) error {
		if refusals.Add(1) <= 2 {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		}
		return nil
	})
	r := e.replica(true)
	it := r.decide(t, 1)
	if state := r.q.Deliver(context.Background(), it); state != store.OutboxPending {
		t.Fatalf("the first send ended %s, want pending", state)
	}
	waitFor(t, "the reply sent by its job", func() bool { return r.outbox(t, it.ID).State == store.OutboxSent })
	r.stop()
	if n := len(e.smtp.Messages()); n != 1 {
		t.Errorf("the relay received %d replies, want 1", n)
	}
	if got := r.outbox(t, it.ID); got.Attempts != 3 || refusals.Load() != 3 {
		t.Errorf("%d attempts recorded, %d made; want 3 and 3", got.Attempts, refusals.Load())
	}
}

// The relay refuses the reply with 550 when its job sends it: the reply
// is permanent after one attempt and its job cancelled, never run again.
func TestJobPermanentFailure(t *testing.T) {
	e := newJobsTest(t)
	var refusals atomic.Int64
	e.smtp.SetFault(func(string, []string) error {
		refusals.Add(1)
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"}
	})
	dead := e.replica(false)
	it := dead.decide(t, 1)
	dead.db.Close()
	r := e.replica(true)
	waitFor(t, "the reply refused for good", func() bool { return r.outbox(t, it.ID).State == store.OutboxPermanent })
	waitFor(t, "its job cancelled", func() bool { return len(r.replyJobs(t, rivertype.JobStateCancelled)) == 1 })
	r.stop()
	if n := refusals.Load(); n != 1 {
		t.Errorf("the reply was tried %d times, want once", n)
	}
	if jobs := r.replyJobs(t); len(jobs) != 1 {
		t.Errorf("%d reply jobs, want the cancelled one only", len(jobs))
	}
}

// A reply sent at once costs no job; one whose first send fails gets its
// job in the transaction that records the failure; an operator's retry
// from another process, and a restart, add none: one job per reply.
func TestJobUniquePerReply(t *testing.T) { onBothStores(t, testJobUniquePerReply) }

func testJobUniquePerReply(t *testing.T, e *jobsTest) {
	var sends atomic.Int64
	e.smtp.SetFault(func(string, []string) error {
		if sends.Add(1) == 2 {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		}
		return nil
	})
	a, b := e.replica(false), e.replica(false)
	sent := a.decide(t, 1)
	if state := a.q.Deliver(context.Background(), sent); state != store.OutboxSent {
		t.Fatalf("the send ended %s, want sent", state)
	}
	if jobs := a.replyJobs(t); len(jobs) != 0 {
		t.Fatalf("%d reply jobs after a reply sent at once, want none", len(jobs))
	}
	pending := a.decide(t, 2)
	if state := a.q.Deliver(context.Background(), pending); state != store.OutboxPending {
		t.Fatalf("the refused send ended %s, want pending", state)
	}
	if jobs := a.replyJobs(t); len(jobs) != 1 {
		t.Fatalf("%d reply jobs after one reply sent at once and one refused, want 1 (the refused one's)", len(jobs))
	}
	if err := b.db.RetryOutbox(context.Background(), pending.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	c := e.replica(true) // a start gives the pending replies that have none a job
	c.stop()
	jobs := a.replyJobs(t)
	if len(jobs) != 1 {
		t.Fatalf("%d reply jobs after a second and a third insert for one reply, want 1", len(jobs))
	}
	var args replyArgs
	if err := json.Unmarshal(jobs[0].EncodedArgs, &args); err != nil || args.OutboxID != pending.ID {
		t.Errorf("the job is for %+v (%v), want outbox %d", args, err, pending.ID)
	}
}

// A first attempt that leaves the reply pending without recording a
// failure (here another goroutine holds the reply: it could as well be a
// store that cannot be read, or a replica that may have handed it over)
// gives the reply its job, which sends it once.
func TestJobAfterAnUnrecordedAttempt(t *testing.T) {
	e := newJobsTest(t)
	r := e.replica(true)
	it := r.decide(t, 1)
	c, err := r.db.Claim(context.Background(), store.MessageKey{Mailbox: "INBOX", UIDValidity: 1, UID: 1}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.q.flight.startSend(it.ID) {
		t.Fatal("the reply is being sent already")
	}
	h := r.q.deliverDecided(context.Background(), c)
	if h.ClaimID != c.ID || h.Folder != "" {
		t.Errorf("handled %+v, want the claim left in the mailbox until its reply is out", h)
	}
	if jobs := r.replyJobs(t); len(jobs) != 1 {
		t.Fatalf("%d reply jobs after an attempt that left the reply pending, want 1", len(jobs))
	}
	r.q.flight.endSend(it.ID)
	waitFor(t, "the reply sent by its job", func() bool { return r.outbox(t, it.ID).State == store.OutboxSent })
	r.stop()
	if n := len(e.smtp.Messages()); n != 1 {
		t.Errorf("the relay received %d replies, want 1", n)
	}
}

// Two replicas on one store run a periodic job once: on River's leader.
func TestPeriodicOncePerCluster(t *testing.T) { onBothStores(t, testPeriodicOncePerCluster) }

func testPeriodicOncePerCluster(t *testing.T, e *jobsTest) {
	var (
		mu   sync.Mutex
		runs []string
	)
	job := func(name string) Periodic {
		return Periodic{Name: "retention", Schedule: river.PeriodicInterval(time.Hour), Period: time.Hour,
			Run: func(context.Context) { mu.Lock(); runs = append(runs, name); mu.Unlock() }}
	}
	a, b := e.replica(true, job("a")), e.replica(true, job("b"))
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(runs) }
	waitFor(t, "the periodic job's first run", func() bool { return count() > 0 })
	// Give the other replica the time to run it too, were it to.
	time.Sleep(3 * time.Second)
	a.stop()
	b.stop()
	if n := count(); n != 1 {
		t.Errorf("the periodic job ran %d times (%v), want once for the two replicas", n, runs)
	}
}
