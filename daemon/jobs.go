package daemon

import (
	"context"
	"log/slog"

	"github.com/robfig/cron/v3"
)

// The schedules of the periodic jobs (robfig/cron syntax).
const (
	retrySchedule     = "@every 1s" // replies whose retry is due
	retentionSchedule = "@hourly"   // raw content past outbox.retention
)

// jobs runs the periodic work until ctx is done: the outbox retry sweep
// every second, the retention job every hour and once at start. A job
// still running when its next turn comes skips that turn. When ctx is
// done it waits for the job in progress, which finishes the reply it is
// sending (bounded by smtp.timeout).
func (d *Daemon) jobs(ctx context.Context) {
	work := context.WithoutCancel(ctx)
	logger := cronLogger{d.log}
	c := cron.New(cron.WithLogger(logger), cron.WithChain(cron.Recover(logger), cron.SkipIfStillRunning(logger)))
	if _, err := c.AddFunc(retrySchedule, func() { d.retryDue(ctx, work) }); err != nil {
		panic(err) // a constant schedule
	}
	if _, err := c.AddFunc(retentionSchedule, func() { d.purge(work) }); err != nil {
		panic(err)
	}
	d.purge(work)
	c.Start()
	<-ctx.Done()
	<-c.Stop().Done()
}

// retryDue delivers the replies whose retry is due, and wakes the work
// connection when some were settled: their originals may be filed now.
func (d *Daemon) retryDue(stop, work context.Context) {
	if d.queue.RetryDue(stop, work) > 0 {
		signal(d.sentWake)
	}
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

// cronLogger sends cron's own lines to the daemon's log; its routine ones
// (a skipped turn) at debug level.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug("cron: "+msg, kv...) }

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "err", err)...)
}
