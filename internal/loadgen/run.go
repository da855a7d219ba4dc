package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/pgtemp"
	"github.com/cpam/attestd/metrics"
)

// pollEvery is how often a run asks the daemon's metrics whether it has
// filed everything.
const pollEvery = 100 * time.Millisecond

// env is one run's servers and daemon.
type env struct {
	o    Options
	sink *sink
	mb   mailbox
	d    runningDaemon
}

// Run sets up the servers and the daemon, makes the run o describes, stops
// the daemon and reports.
func Run(ctx context.Context, o Options) (*Report, error) {
	o = o.withDefaults()
	if len(o.Requests) == 0 {
		return nil, errors.New("loadgen: no requests to send")
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "attestd-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	e := &env{o: o}
	if e.sink, err = startSink(); err != nil {
		return nil, err
	}
	defer e.sink.close()
	if o.IMAP != nil {
		e.mb, err = dialRemote(o.IMAP.IMAP)
	} else {
		e.mb, err = startEmbedded(o.Mailboxes)
	}
	if err != nil {
		return nil, err
	}
	defer e.mb.close()
	var pg *pgtemp.Schema
	if o.Postgres != "" {
		if pg, err = pgtemp.New(ctx, o.Postgres, "attestd_bench"); err != nil {
			return nil, err
		}
		defer pg.Drop(context.Background())
	}
	cfg := benchConfig(o, dir, e.sink.addr(), pg)
	secrets := e.mb.configure(&cfg)
	if o.Command != nil {
		db, err := openStore(ctx, cfg)
		if err != nil {
			return nil, err
		}
		db.Close()
		if e.d, err = startFleet(o.Command, cfg, secrets, o.Today, dir, o.Replicas, o.Log); err != nil {
			return nil, err
		}
	} else {
		if e.d, err = startInProcess(ctx, cfg, secrets, o.Today, o.Log); err != nil {
			return nil, err
		}
	}
	stopped := false
	defer func() {
		if !stopped {
			e.d.stop()
		}
	}()
	if err := waitReady(ctx, e.d); err != nil {
		return nil, err
	}
	var rep *Report
	if o.Idle > 0 {
		rep, err = e.idle(ctx)
	} else {
		rep, err = e.sustained(ctx)
	}
	stopped = true
	peak, stopErr := e.d.stop()
	if err != nil {
		return nil, err
	}
	if stopErr != nil {
		return nil, stopErr
	}
	rep.PeakRSS, rep.Isolated, rep.Workers = peak, e.d.isolated(), o.Workers
	rep.Replicas, rep.Mailboxes, rep.Store = o.Replicas, o.Mailboxes, cfg.Store.Driver
	if rep.Workers == 0 {
		rep.Workers = daemon.DefaultWorkers()
	}
	return rep, nil
}

// runID tells the Message-IDs of one run from another's.
func runID() string { return fmt.Sprintf("%08x", rand.Uint32()) }

// sustained delivers o.N requests on schedule and waits until all are
// filed.
func (e *env) sustained(ctx context.Context) (*Report, error) {
	o := e.o
	reqs := mix(o.Requests, o.N, runID(), o.Expected)
	base, err := e.outcomes(ctx)
	if err != nil {
		return nil, err
	}
	cpu0, err := e.d.cpu(ctx)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	dl := e.deliverOnSchedule(reqs, o.Rate, start)
	got, counts, err := e.awaitFiled(ctx, len(reqs), base, dl.done)
	if err != nil {
		return nil, err
	}
	done := time.Now()
	cpu1, err := e.d.cpu(ctx)
	if err != nil {
		return nil, err
	}
	if got, err = e.drain(ctx, got); err != nil {
		return nil, err
	}
	rep := &Report{Mode: "sustained", Requests: len(reqs), Offered: o.Rate, Outcomes: counts,
		CPU: cpu1 - cpu0, DeliveryLag: dl.lag}
	rep.addReplies(reqs, dl.sentAt, got)
	// The run lasts from the first delivery to the last reply (filing is a
	// few milliseconds later); without replies, to when it was seen filed.
	end := done
	if rep.lastReply.After(start) {
		end = rep.lastReply
	}
	rep.Elapsed = end.Sub(start)
	return rep, nil
}

// delivery is a sustained run's schedule, filled in as it goes: read
// sentAt and lag once done has given nil.
type delivery struct {
	sentAt []time.Time
	lag    time.Duration // the most a delivery fell behind the rate
	done   chan error    // nil once every request is delivered, or the first error
}

// deliverOnSchedule delivers reqs in a goroutine, rate a second from start
// (0: as fast as the mailbox takes them).
func (e *env) deliverOnSchedule(reqs []request, rate float64, start time.Time) *delivery {
	dl := &delivery{sentAt: make([]time.Time, len(reqs)), done: make(chan error, 1)}
	go func() {
		for i, r := range reqs {
			if rate > 0 {
				at := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
				if wait := time.Until(at); wait > 0 {
					time.Sleep(wait)
				} else {
					dl.lag = max(dl.lag, -wait)
				}
			}
			dl.sentAt[i] = time.Now()
			if err := e.mb.deliver(r.raw); err != nil {
				dl.done <- fmt.Errorf("loadgen: delivering request %d: %w", i, err)
				return
			}
		}
		dl.done <- nil
	}()
	return dl
}

// awaitFiled collects the replies until, after the last delivery, the
// daemon has filed n requests more than base counts: the replies so far and
// the outcomes of the n.
func (e *env) awaitFiled(ctx context.Context, n int, base map[string]int, delivered <-chan error) ([]accepted, map[string]int, error) {
	var got []accepted
	var timeout <-chan time.Time
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	deliveredAll := false
	for {
		select {
		case a := <-e.sink.out:
			got = append(got, a)
		case err := <-delivered:
			if err != nil {
				return nil, nil, err
			}
			deliveredAll = true
			timeout = time.After(e.o.Timeout)
		case <-tick.C:
			if !deliveredAll {
				continue
			}
			c, err := e.outcomes(ctx)
			if err != nil {
				return nil, nil, err
			}
			if c = minus(c, base); sum(c) >= n {
				return got, c, nil
			}
		case <-timeout:
			c, _ := e.outcomes(ctx)
			return nil, nil, fmt.Errorf("loadgen: only %d of %d requests filed %v after the last delivery", sum(minus(c, base)), n, e.o.Timeout)
		case <-e.d.exited():
			return nil, nil, fmt.Errorf("loadgen: the daemon exited during the run: %s", e.d.lastWords())
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

// idle delivers single requests that get a reply, each after a pause, and
// times each.
func (e *env) idle(ctx context.Context) (*Report, error) {
	o := e.o
	var answered = o.Requests[:0:0]
	for _, r := range o.Requests {
		if expectsReply(o.Expected, r.Name) {
			answered = append(answered, r)
		}
	}
	if len(answered) == 0 {
		return nil, errors.New("loadgen: no request of the mix gets a reply")
	}
	reqs := mix(answered, o.Idle, runID(), o.Expected)
	base, err := e.outcomes(ctx)
	if err != nil {
		return nil, err
	}
	cpu0, err := e.d.cpu(ctx)
	if err != nil {
		return nil, err
	}
	sentAt := make([]time.Time, len(reqs))
	var got []accepted
	start := time.Now()
	for i, r := range reqs {
		// A pause of a random length, so that deliveries do not fall in
		// step with the daemon's own timers (its IDLE wake-ups).
		time.Sleep(o.IdleGap + rand.N(o.IdleGap/2+1))
		sentAt[i] = time.Now()
		if err := e.mb.deliver(r.raw); err != nil {
			return nil, fmt.Errorf("loadgen: delivering request %d: %w", i, err)
		}
		a, err := e.await(ctx, r.messageID, 30*time.Second)
		if err != nil {
			return nil, err
		}
		got = append(got, a)
	}
	var counts map[string]int
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := e.outcomes(ctx)
		if err != nil {
			return nil, err
		}
		if counts = minus(c, base); sum(counts) >= len(reqs) || time.Now().After(deadline) {
			break
		}
		time.Sleep(pollEvery)
	}
	cpu1, err := e.d.cpu(ctx)
	if err != nil {
		return nil, err
	}
	rep := &Report{Mode: "idle", Requests: len(reqs), Outcomes: counts, CPU: cpu1 - cpu0, IdleGap: o.IdleGap}
	rep.addReplies(reqs, sentAt, got)
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// await waits for the reply to the request id.
func (e *env) await(ctx context.Context, id string, limit time.Duration) (accepted, error) {
	timeout := time.After(limit)
	for {
		select {
		case a := <-e.sink.out:
			if a.inReplyTo == id {
				return a, nil
			}
		case <-timeout:
			return accepted{}, fmt.Errorf("loadgen: no reply to %s within %v", id, limit)
		case <-e.d.exited():
			return accepted{}, fmt.Errorf("loadgen: the daemon exited during the run: %s", e.d.lastWords())
		case <-ctx.Done():
			return accepted{}, ctx.Err()
		}
	}
}

// drain takes the replies still queued: every reply the daemon counts as
// sent was accepted before its message was filed.
func (e *env) drain(ctx context.Context, got []accepted) ([]accepted, error) {
	sent := 0
	for _, u := range e.d.metricsURLs() {
		fams, err := metrics.Scrape(ctx, u+"/metrics")
		if err != nil {
			return nil, err
		}
		v, _ := metrics.Value(fams, "attestd_replies_sent_total")
		sent += int(v)
	}
	timeout := time.After(10 * time.Second)
	for len(got) < sent {
		select {
		case a := <-e.sink.out:
			got = append(got, a)
		case <-timeout:
			return got, nil // the report shows the shortfall
		}
	}
	for {
		select {
		case a := <-e.sink.out:
			got = append(got, a)
		default:
			return got, nil
		}
	}
}

// outcomes reads the daemon's count of filed messages by outcome (summed
// over the replicas).
func (e *env) outcomes(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	for _, u := range e.d.metricsURLs() {
		fams, err := metrics.Scrape(ctx, u+"/metrics")
		if err != nil {
			return nil, err
		}
		for k, v := range metrics.Outcomes(fams) {
			out[k] += v
		}
	}
	return out, nil
}

func minus(a, b map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range a {
		if v -= b[k]; v != 0 {
			out[k] = v
		}
	}
	return out
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
