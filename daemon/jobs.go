package daemon

import (
	"context"
	"log/slog"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/cpam/attestd/queue"
	"github.com/cpam/attestd/store"
)

// retentionSchedule is when the retention job runs (robfig/cron syntax),
// and retentionPeriod its period: once per cluster in each.
const (
	retentionSchedule = "@hourly"
	retentionPeriod   = time.Hour
)

// newJobs makes the work queue (package queue, River on the store's
// database): the reply jobs, which retry the replies that could not go out
// at once, and the periodic jobs, which River runs on its elected leader
// only, once per period for the cluster. River v0.51.2 has no public hook
// saying which replica leads, so the schedules stay robfig/cron's but
// River runs them: a cron.Schedule is a river.PeriodicSchedule.
func (d *Daemon) newJobs(ctx context.Context, st store.Jobs) (*queue.Jobs, error) {
	sched, err := cron.ParseStandard(retentionSchedule)
	if err != nil {
		panic(err) // a constant schedule
	}
	timeout := d.cfg.SMTP.Timeout.D()
	return queue.NewJobs(ctx, queue.JobsOptions{
		Store: st, Queue: d.queue, Logger: d.log,
		// The send that follows a decision takes at most smtp.timeout,
		// and its record a moment more.
		Grace: timeout + 10*time.Second, JobTimeout: timeout + 5*time.Second,
		Periodic: []queue.Periodic{{Name: "retention", Schedule: sched, Period: retentionPeriod, Run: d.purge}},
		Settled:  d.replySettled,
	})
}

// runJobs works the jobs until ctx is done, then lets those running finish
// (a reply being sent, bounded by smtp.timeout) and stops.
func (d *Daemon) runJobs(ctx context.Context) {
	if err := d.jobs.Start(context.WithoutCancel(ctx)); err != nil {
		d.log.Error("work queue: cannot start; replies that fail now are retried once it runs", "err", err)
		return
	}
	<-ctx.Done()
	stop, cancel := context.WithTimeout(context.Background(), d.cfg.SMTP.Timeout.D())
	defer cancel()
	d.jobs.Stop(stop)
}

// purge removes the raw content of the requests handled longer than
// outbox.retention ago, and of their replies; outcome records stay.
func (d *Daemon) purge(ctx context.Context) {
	keep := d.cfg.Outbox.Retention.D()
	if keep <= 0 {
		d.log.Debug("retention: outbox.retention is 0, raw content is kept")
		return
	}
	n, err := d.store.PurgeRaw(ctx, d.now().Add(-keep))
	if err != nil {
		d.log.Warn("retention: cannot purge raw content, will try again in an hour", "err", err)
		return
	}
	level := slog.LevelDebug
	if n > 0 {
		level = slog.LevelInfo
	}
	d.log.Log(ctx, level, "retention: raw content of handled requests purged", "requests", n, "older_than", keep.String())
}
