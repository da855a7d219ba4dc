// Package loadprobe measures a running responder (attestd, or the floor)
// from outside, on real servers, as a user would: it APPENDs request mails
// to an IMAP mailbox (Dovecot) and reads the replies from Mailpit's API,
// matched by In-Reply-To, timing each from its APPEND to its arrival in
// Mailpit.
package loadprobe

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Options describe one probe run.
type Options struct {
	IMAP     string // host:port, plain text
	User     string
	Password string
	Mailbox  string // default INBOX
	Mailpit  string // Mailpit's base URL, e.g. http://127.0.0.1:18025
	// Requests are the mails sent, cycled through; each is sent under a
	// fresh Message-ID. Only requests that get a reply belong here.
	Requests [][]byte
	N        int           // requests to send
	Rate     float64       // per second; 0: as fast as the server takes them
	Timeout  time.Duration // wait for the replies after the last APPEND; default 60 s
}

// Result is what one run saw. Latencies run from the end of a request's
// APPEND to its reply's arrival in Mailpit.
type Result struct {
	Sent       int           `json:"sent"`
	SendTime   time.Duration `json:"send_ns"`
	Replies    int           `json:"replies"`
	Missing    int           `json:"missing"`
	Duplicates int           `json:"duplicates"`
	// PerSecond is replies per second, from the first APPEND to the last
	// first reply.
	PerSecond float64       `json:"replies_per_s"`
	P50       time.Duration `json:"p50_ns"`
	P90       time.Duration `json:"p90_ns"`
	P99       time.Duration `json:"p99_ns"`
	Max       time.Duration `json:"max_ns"`
}

func (r *Result) String() string {
	ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	return fmt.Sprintf("sent=%d in %.2fs replies=%d missing=%d duplicates=%d throughput=%.1f replies/s latency p50=%s p90=%s p99=%s max=%s",
		r.Sent, r.SendTime.Seconds(), r.Replies, r.Missing, r.Duplicates, r.PerSecond, ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max))
}

var midRe = regexp.MustCompile(`(?im)^Message-ID:[^\r\n]*\r?\n`)

// Run empties Mailpit, sends the requests and waits for their replies.
func Run(ctx context.Context, o Options) (*Result, error) {
	if len(o.Requests) == 0 || o.N <= 0 {
		return nil, fmt.Errorf("loadprobe: nothing to send")
	}
	if o.Mailbox == "" {
		o.Mailbox = "INBOX"
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	mp := mailpit{base: o.Mailpit}
	if err := mp.clear(ctx); err != nil {
		return nil, err
	}
	c, err := imapclient.DialInsecure(o.IMAP, nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.Login(o.User, o.Password).Wait(); err != nil {
		return nil, err
	}
	start := time.Now()
	sentAt, err := send(ctx, c, o, start)
	if err != nil {
		return nil, err
	}
	res := &Result{Sent: len(sentAt), SendTime: time.Since(start)}
	got, err := mp.collect(ctx, sentAt, time.Now().Add(o.Timeout))
	if err != nil {
		return nil, err
	}
	res.tally(sentAt, got, start)
	return res, nil
}

// send APPENDs o.N requests, paced at o.Rate, and returns when each was
// accepted, by Message-ID.
func send(ctx context.Context, c *imapclient.Client, o Options, start time.Time) (map[string]time.Time, error) {
	run := start.UnixNano()
	sentAt := make(map[string]time.Time, o.N)
	for i := 0; i < o.N; i++ {
		if o.Rate > 0 {
			due := start.Add(time.Duration(float64(i) / o.Rate * float64(time.Second)))
			select {
			case <-time.After(time.Until(due)):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		id := fmt.Sprintf("probe-%d-%d@probe.example", run, i)
		raw := midRe.ReplaceAll(o.Requests[i%len(o.Requests)], []byte("Message-ID: <"+id+">\r\n"))
		cmd := c.Append(o.Mailbox, int64(len(raw)), &imap.AppendOptions{})
		if _, err := cmd.Write(raw); err != nil {
			return nil, err
		}
		if err := cmd.Close(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		if _, err := cmd.Wait(); err != nil {
			return nil, err
		}
		sentAt[id] = t0
	}
	return sentAt, nil
}

// tally fills the counts and percentiles from the replies got.
func (r *Result) tally(sentAt map[string]time.Time, got map[string][]time.Time, start time.Time) {
	var lat []time.Duration
	var last time.Time
	for id, ts := range got {
		r.Duplicates += len(ts) - 1
		lat = append(lat, ts[0].Sub(sentAt[id]))
		if ts[0].After(last) {
			last = ts[0]
		}
	}
	r.Replies = len(got)
	r.Missing = len(sentAt) - len(got)
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))] }
	r.P50, r.P90, r.P99, r.Max = p(0.5), p(0.9), p(0.99), p(1)
	r.PerSecond = float64(len(lat)) / last.Sub(start).Seconds()
}
