package queue

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/cpam/attestd/store"
)

// The work queue is River (github.com/riverqueue/river) on the store's own
// database, so that every replica of a cluster shares it:
//
//   - the reply job: a reply is sent at once, without one ([Queue.Handle]).
//     Only a reply that its first attempt leaves pending gets a job: in the
//     transaction that records a temporary failure (see store.ReplyJobs),
//     or right after the attempt otherwise (the store could not be read or
//     written, another replica may have handed it over, the lease was
//     lost). A crash before that leaves a pending reply without a job:
//     the sweep finds its message again and sends it, [Queue.Resume] gives
//     one to a reply whose message is gone, and [Jobs.Start] to every
//     pending reply. A job waits a grace period (longer than a send can
//     take) and only acts if the reply is still pending. It is unique per
//     outbox row, retried on the [RetryPolicy] until the outbox gives the
//     reply up, and cancelled on a permanent failure. River used to cost
//     every reply an insert and a delete (9 % of attestd's CPU in a burst,
//     issue 14); a reply sent at once now costs it nothing.
//   - periodic jobs (retention): River enqueues them on its elected leader
//     only, once per period for the whole cluster. River v0.51.2 has no
//     public "am I the leader" hook, so robfig/cron cannot be run on the
//     leader; its schedules are given to River instead (a cron.Schedule is
//     a river.PeriodicSchedule).
//
// River is at-least-once; exactly once comes from the outbox row's state,
// read again before every attempt, and the sent journal.

// jobsQueue is the one River queue: each queue is one more poll.
const jobsQueue = "attestd"

// replyArgs is the delivery job of one reply, unique per outbox row.
type replyArgs struct {
	OutboxID int64 `json:"outbox_id" river:"unique"`
}

func (replyArgs) Kind() string { return "reply" }

// periodicArgs is one turn of a periodic job.
type periodicArgs struct {
	Name string `json:"name" river:"unique"`
}

func (periodicArgs) Kind() string { return "periodic" }

// Periodic is a job run once per cluster on a schedule, and once when a
// replica becomes River's leader.
type Periodic struct {
	Name string
	// Schedule says when (cron.ParseStandard's result fits).
	Schedule river.PeriodicSchedule
	// Period is the schedule's period: two turns in one period are one
	// (a leader that changes in between does not run it twice).
	Period time.Duration
	// Run does the work; it logs its own failures and the next turn tries
	// again.
	Run func(ctx context.Context)
}

// JobsOptions configure the work queue.
type JobsOptions struct {
	// Store gives River its driver and calls the reply job hooks.
	Store store.Jobs
	// Queue delivers the replies; nil: an insert-only client (`attestd
	// outbox retry`) that works no job.
	Queue *Queue
	// Grace is how long a job given to a reply that an attempt left
	// pending (or a start found pending) waits before it acts: longer than
	// a send that may still be under way (smtp.timeout and a margin).
	Grace time.Duration
	// JobTimeout bounds one attempt (an SMTP send).
	JobTimeout time.Duration
	// Retry is the outbox's retry policy; zero: Queue's.
	Retry RetryPolicy
	// Workers is how many jobs run at once; 0: 4.
	Workers  int
	Periodic []Periodic
	// Settled is called when a job settled a reply (sent or failed for
	// good): its original may be filed now.
	Settled func()
	Logger  *slog.Logger
}

// Jobs is the work queue's River client.
type Jobs struct {
	client  *river.Client[*sql.Tx]
	store   store.Jobs
	q       *Queue
	grace   time.Duration
	retry   RetryPolicy
	settled func()
	log     *slog.Logger

	mu  sync.Mutex
	ids map[int64]int64 // outbox id → the id of the job this process inserted for it
}

// NewJobs makes the River client and installs the reply job hooks in the
// store. Start works the jobs; an insert-only client needs no Start.
func NewJobs(ctx context.Context, o JobsOptions) (*Jobs, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Settled == nil {
		o.Settled = func() {}
	}
	driver, err := o.Store.JobsDriver(ctx)
	if err != nil {
		return nil, err
	}
	if o.Retry == (RetryPolicy{}) && o.Queue != nil {
		o.Retry = o.Queue.retry
	}
	j := &Jobs{grace: o.Grace, q: o.Queue, retry: o.Retry.withDefaults(), settled: o.Settled, log: o.Logger, ids: map[int64]int64{}}
	workers := river.NewWorkers()
	river.AddWorker(workers, &replyWorker{j: j})
	runs := map[string]func(context.Context){}
	for _, p := range o.Periodic {
		runs[p.Name] = p.Run
	}
	river.AddWorker(workers, &periodicWorker{runs: runs})
	cfg := &river.Config{
		Workers: workers,
		// River's own lines (start, stop, leadership) are routine: warnings
		// and errors only.
		Logger: slog.New(minLevel{slog.LevelWarn, o.Logger.Handler()}),
	}
	if o.Queue != nil {
		cfg.Queues = map[string]river.QueueConfig{jobsQueue: {MaxWorkers: cmp.Or(o.Workers, 4)}}
		// Replies go out at once without River: a job is only picked up on
		// a retry (5 s at the least by default) or after a crash, so a slow
		// poll costs no latency that counts. A poll is River's heaviest
		// idle query (about 1-3 ms of CPU on SQLite); every 5 s, which is
		// also the turn of River's scheduler (scheduled jobs become
		// available), keeps an idle daemon well under 1 % of a core. On
		// SQLite there is no LISTEN: River would emulate it with a query
		// every 50 ms; poll only.
		cfg.FetchPollInterval = 5 * time.Second
		cfg.PollOnly = driver.DatabaseName() == riverdriver.DatabaseNameSQLite
		cfg.JobTimeout = o.JobTimeout
		if cfg.JobTimeout > 0 {
			cfg.RescueStuckJobsAfter = cfg.JobTimeout + 10*time.Second
		}
		cfg.PeriodicJobs = periodicJobs(o.Periodic)
	}
	if j.client, err = river.NewClient(driver, cfg); err != nil {
		return nil, fmt.Errorf("queue: work queue: %w", err)
	}
	j.store = o.Store
	o.Store.SetReplyJobs(j)
	if o.Queue != nil {
		o.Queue.jobs = j
	}
	return j, nil
}

// periodicJobs are River's periodic jobs of ps.
func periodicJobs(ps []Periodic) []*river.PeriodicJob {
	var out []*river.PeriodicJob
	for _, p := range ps {
		opts := &river.InsertOpts{Queue: jobsQueue, MaxAttempts: 1, UniqueOpts: river.UniqueOpts{
			ByArgs: true, ByPeriod: p.Period,
			// Not completed: a replica that becomes leader runs it at
			// once (RunOnStart), while two leaders never run it at once.
			ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
				rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled},
		}}
		out = append(out, river.NewPeriodicJob(p.Schedule, func() (river.JobArgs, *river.InsertOpts) {
			return periodicArgs{Name: p.Name}, opts
		}, &river.PeriodicJobOpts{ID: p.Name, RunOnStart: true}))
	}
	return out
}

// Start gives every pending reply its job, then works the jobs until Stop.
func (j *Jobs) Start(ctx context.Context) error {
	ids, err := j.store.PendingReplies(ctx)
	if err == nil {
		err = j.ensure(ctx, ids...)
	}
	if err != nil {
		j.log.Warn("work queue: cannot give the pending replies their jobs; those whose message is still in the mailbox get theirs when it is swept, the others at the next start",
			"err", err)
	}
	if err := j.client.Start(ctx); err != nil {
		return fmt.Errorf("queue: start the work queue: %w", err)
	}
	return nil
}

// Stop stops fetching jobs and waits for those running, until ctx is done;
// then it cancels them (a cancelled send is retried).
func (j *Jobs) Stop(ctx context.Context) {
	if err := j.client.Stop(ctx); err != nil {
		j.log.Warn("work queue: jobs still running at the stop deadline, cancelled; they are retried", "err", err)
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		j.client.StopAndCancel(cctx)
	}
}

// ReplyDue schedules the job of reply id (store.ReplyJobs) at due: a
// retry. A job this process inserted for it before is replaced; the job
// running the reply now is left alone (River schedules its next attempt
// itself).
func (j *Jobs) ReplyDue(ctx context.Context, tx *sql.Tx, id int64, due time.Time) error {
	if runningJob(ctx) == id {
		return nil
	}
	if err := j.forget(ctx, tx, id); err != nil {
		return err
	}
	res, err := j.client.InsertTx(ctx, tx, replyArgs{OutboxID: id}, j.replyOpts(due))
	if err != nil {
		return fmt.Errorf("queue: schedule the reply's job: %w", err)
	}
	j.mu.Lock()
	j.noteInserted(id, res)
	j.mu.Unlock()
	return nil
}

// replyOpts are the insert options of a reply's job due at due: one job
// per reply (unique by its args), retried on the outbox's policy.
func (j *Jobs) replyOpts(due time.Time) *river.InsertOpts {
	return &river.InsertOpts{Queue: jobsQueue, ScheduledAt: due, MaxAttempts: j.retry.MaxAttempts,
		UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// noteInserted remembers the job this process inserted for reply id, to
// delete it once the reply settles (forget); a duplicate skipped is
// another's. j.mu held.
func (j *Jobs) noteInserted(id int64, res *rivertype.JobInsertResult) {
	if !res.UniqueSkippedAsDuplicate {
		j.ids[id] = res.Job.ID
	}
}

// ensure gives each reply of ids a job after the grace period, unless it
// has one: an attempt that left it pending, a crash before that. The
// job's run reads the reply again and does nothing if it was settled
// meanwhile.
func (j *Jobs) ensure(ctx context.Context, ids ...int64) error {
	due := time.Now().Add(j.grace)
	for len(ids) > 0 {
		n := min(len(ids), 500)
		params := make([]river.InsertManyParams, n)
		for i, id := range ids[:n] {
			params[i] = river.InsertManyParams{Args: replyArgs{OutboxID: id}, InsertOpts: j.replyOpts(due)}
		}
		res, err := j.client.InsertMany(ctx, params)
		if err != nil {
			return fmt.Errorf("queue: schedule the replies' jobs: %w", err)
		}
		j.mu.Lock()
		for _, r := range res {
			// River does not say its results follow the params' order:
			// the job's own args name its reply.
			var args replyArgs
			if json.Unmarshal(r.Job.EncodedArgs, &args) == nil {
				j.noteInserted(args.OutboxID, r)
			}
		}
		j.mu.Unlock()
		ids = ids[n:]
	}
	return nil
}

// ReplySettled deletes the job this process inserted for reply id, if
// any, in the transaction that settles it: a reply sent at once costs no
// job run. A job inserted by another process runs once and does nothing.
func (j *Jobs) ReplySettled(ctx context.Context, tx *sql.Tx, id int64) error {
	if runningJob(ctx) == id {
		return nil // it completes itself
	}
	return j.forget(ctx, tx, id)
}

// forget deletes the job this process inserted for reply id, if it is not
// running.
func (j *Jobs) forget(ctx context.Context, tx *sql.Tx, id int64) error {
	j.mu.Lock()
	jobID, ok := j.ids[id]
	delete(j.ids, id)
	j.mu.Unlock()
	if !ok {
		return nil
	}
	_, err := j.client.JobDeleteTx(ctx, tx, jobID)
	if err != nil && !errors.Is(err, rivertype.ErrJobRunning) && !errors.Is(err, rivertype.ErrNotFound) {
		return fmt.Errorf("queue: delete the reply's job: %w", err)
	}
	return nil
}

// runningKey marks the context of a reply job with its outbox id.
type runningKey struct{}

func runningJob(ctx context.Context) int64 {
	id, _ := ctx.Value(runningKey{}).(int64)
	return id
}

// replyWorker runs reply jobs.
type replyWorker struct {
	river.WorkerDefaults[replyArgs]
	j *Jobs
}

// Work makes one attempt at the reply unless it was settled meanwhile (a
// no-op). A temporary failure is returned (River retries on the retry
// policy); a permanent one cancels the job.
func (w *replyWorker) Work(ctx context.Context, job *river.Job[replyArgs]) error {
	q, id := w.j.q, job.Args.OutboxID
	w.j.mu.Lock()
	delete(w.j.ids, id)
	w.j.mu.Unlock()
	it, err := q.store.OutboxByID(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	case it.State != store.OutboxPending:
		return nil
	}
	state, err := q.deliver(context.WithValue(ctx, runningKey{}, id), it)
	switch {
	case state == store.OutboxSent:
		w.j.settled()
		return nil
	case state == store.OutboxPermanent:
		w.j.settled()
		return river.JobCancel(err)
	case errors.Is(err, errBusy), errors.Is(err, errWaitSender):
		return river.JobSnooze(time.Second)
	case err == nil:
		err = errors.New("reply still pending")
	}
	if job.Attempt >= job.MaxAttempts {
		// River would discard the job and leave the reply pending: the
		// outbox gives it up first.
		if merr := q.store.MarkPermanent(ctx, id, err.Error(), q.now()); merr != nil {
			return merr
		}
		w.j.settled()
		return river.JobCancel(err)
	}
	return err
}

// NextRetry is the outbox's back-off: the first attempt of the reply was
// the one made at once, so job attempt n is the reply's attempt n+1.
func (w *replyWorker) NextRetry(job *river.Job[replyArgs]) time.Time {
	return time.Now().Add(w.j.retry.Backoff(job.Attempt + 1))
}

// periodicWorker runs the periodic jobs.
type periodicWorker struct {
	river.WorkerDefaults[periodicArgs]
	runs map[string]func(context.Context)
}

// Timeout: a periodic job (retention on a large ledger) may take longer
// than a send.
func (w *periodicWorker) Timeout(*river.Job[periodicArgs]) time.Duration { return 15 * time.Minute }

func (w *periodicWorker) Work(ctx context.Context, job *river.Job[periodicArgs]) error {
	run, ok := w.runs[job.Args.Name]
	if !ok {
		return river.JobCancel(fmt.Errorf("no periodic job named %q in this version", job.Args.Name))
	}
	run(ctx)
	return nil
}

// minLevel drops the records below min.
type minLevel struct {
	min slog.Level
	slog.Handler
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.min, h.Handler.WithAttrs(as)}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.min, h.Handler.WithGroup(name)}
}
