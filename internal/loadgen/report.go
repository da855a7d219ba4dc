package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Report is what a run measured.
type Report struct {
	// Mode is "sustained" or "idle".
	Mode string
	// Requests delivered; Offered is the rate asked for (0: all at once).
	Requests int
	Offered  float64
	// IdleGap is the pause before each request of an idle run.
	IdleGap time.Duration
	// Workers is the daemon's setting.
	Workers int
	// Replicas is how many daemons shared the work, Mailboxes how many
	// mailboxes the requests were dealt to, Store the store's driver.
	Replicas, Mailboxes int
	Store               string
	// Isolated is true when the daemon ran as a child process: CPU and
	// PeakRSS are its own. Otherwise they are the whole process's, mail
	// servers and load generator included.
	Isolated bool
	// Elapsed is from the first delivery to the last reply accepted.
	Elapsed time.Duration
	// Replies accepted by the SMTP sink that answer a request of the run,
	// and how many of them carry a PDF.
	Replies, PDFs int
	// Latency is from the delivery (APPEND) of each request to the SMTP
	// sink's acceptance of its reply.
	Latency Latency
	// CPU is the CPU time used during the run; PeakRSS the peak resident
	// memory in bytes (over the whole life of the process).
	CPU     time.Duration
	PeakRSS int64
	// Outcomes counts the messages filed, by outcome, as the daemon's
	// metrics tell.
	Outcomes map[string]int
	// DeliveryLag is how far behind its schedule the slowest delivery
	// started (offered rate only).
	DeliveryLag time.Duration
	// Unanswered counts requests that expected a reply and got none.
	Unanswered int

	lastReply time.Time
}

// Latency summarises latencies by nearest-rank percentiles.
type Latency struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

// latencyOf summarises ds (which it sorts).
func latencyOf(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(ds))+0.999999) - 1
		return ds[min(max(i, 0), len(ds)-1)]
	}
	return Latency{N: len(ds), P50: rank(0.50), P90: rank(0.90), P99: rank(0.99), Max: ds[len(ds)-1]}
}

// addReplies matches replies to the requests they answer.
func (r *Report) addReplies(reqs []request, sentAt []time.Time, got []accepted) {
	index := make(map[string]int, len(reqs))
	for i, q := range reqs {
		index[q.messageID] = i
	}
	answered := make([]bool, len(reqs))
	var ds []time.Duration
	for _, a := range got {
		i, ok := index[a.inReplyTo]
		if !ok || answered[i] {
			continue
		}
		answered[i] = true
		r.Replies++
		if a.pdf {
			r.PDFs++
		}
		ds = append(ds, a.at.Sub(sentAt[i]))
		if a.at.After(r.lastReply) {
			r.lastReply = a.at
		}
	}
	for i, q := range reqs {
		if q.reply && !answered[i] {
			r.Unanswered++
		}
	}
	r.Latency = latencyOf(ds)
}

// Handled is the number of messages the daemon filed.
func (r *Report) Handled() int { return sum(r.Outcomes) }

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Print writes the report for a person.
func (r *Report) Print(w io.Writer) {
	where := "in process: CPU and memory include the IMAP and SMTP servers and the load generator"
	if r.Isolated {
		where = "child process `attestd run`: CPU and memory are the daemon's alone"
	}
	offered := "all at once"
	if r.Offered > 0 {
		offered = fmt.Sprintf("offered at %g/s", r.Offered)
	}
	if r.Mode == "idle" {
		offered = fmt.Sprintf("one at a time, each after %v to %v idle", r.IdleGap, r.IdleGap*3/2)
	}
	fmt.Fprintf(w, "attestd bench: %s run, %d requests (%s), workers %d, daemon %s\n", r.Mode, r.Requests, offered, r.Workers, where)
	if r.Replicas > 1 || r.Mailboxes > 1 || r.Store == "postgres" {
		fmt.Fprintf(w, "  cluster     %d replica(s) on %s, %d mailbox(es): CPU and peak RSS are the replicas' sums\n", r.Replicas, r.Store, r.Mailboxes)
	}
	if r.Mode == "sustained" {
		fmt.Fprintf(w, "  throughput  %d filed in %.2f s: %.1f messages/s, %.1f replies/s, %.1f replies with a PDF/s\n",
			r.Handled(), r.Elapsed.Seconds(), perSecond(r.Handled(), r.Elapsed), perSecond(r.Replies, r.Elapsed), perSecond(r.PDFs, r.Elapsed))
	}
	l := r.Latency
	fmt.Fprintf(w, "  latency     APPEND to reply accepted by SMTP, %d replies (%d with a PDF): p50 %s  p90 %s  p99 %s  max %s\n",
		l.N, r.PDFs, ms(l.P50), ms(l.P90), ms(l.P99), ms(l.Max))
	fmt.Fprintf(w, "  daemon      CPU %.2f s during the run (%.2f cores over %.2f s), peak RSS %.1f MB\n",
		r.CPU.Seconds(), r.CPU.Seconds()/max(r.Elapsed.Seconds(), 1e-9), r.Elapsed.Seconds(), float64(r.PeakRSS)/1e6)
	fmt.Fprintf(w, "  outcomes    %s\n", r.outcomeLine())
	if r.DeliveryLag > 100*time.Millisecond {
		fmt.Fprintf(w, "  note        deliveries fell up to %s behind the offered rate\n", ms(r.DeliveryLag))
	}
	if r.Unanswered > 0 {
		fmt.Fprintf(w, "  WARNING     %d requests that expected a reply got none\n", r.Unanswered)
	}
}

func (r *Report) outcomeLine() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(r.Outcomes)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, r.Outcomes[k]))
	}
	return strings.Join(parts, ", ")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// JSON is the report for machines, every duration in milliseconds and
// memory in bytes.
func (r *Report) JSON() ([]byte, error) {
	return json.MarshalIndent(map[string]any{
		"mode": r.Mode, "requests": r.Requests, "offered_per_s": r.Offered, "workers": r.Workers,
		"replicas": r.Replicas, "mailboxes": r.Mailboxes, "store": r.Store,
		"isolated": r.Isolated, "elapsed_ms": msf(r.Elapsed), "handled": r.Handled(),
		"replies": r.Replies, "pdfs": r.PDFs, "unanswered": r.Unanswered,
		"messages_per_s": perSecond(r.Handled(), r.Elapsed), "replies_per_s": perSecond(r.Replies, r.Elapsed),
		"pdfs_per_s": perSecond(r.PDFs, r.Elapsed),
		"latency_ms": map[string]any{"n": r.Latency.N, "p50": msf(r.Latency.P50), "p90": msf(r.Latency.P90),
			"p99": msf(r.Latency.P99), "max": msf(r.Latency.Max)},
		"cpu_ms": msf(r.CPU), "peak_rss_bytes": r.PeakRSS, "outcomes": r.Outcomes,
		"delivery_lag_ms": msf(r.DeliveryLag),
	}, "", "  ")
}

// Compare writes a table of runs that differ by their number of replicas,
// each latency also as a change against the first run's.
func Compare(w io.Writer, reps []*Report) {
	if len(reps) == 0 {
		return
	}
	fmt.Fprintf(w, "replicas  mailboxes  messages/s  p50 ms (vs first)  p90 ms  p99 ms (vs first)  max ms  CPU s  peak RSS MB\n")
	first := reps[0].Latency
	change := func(d, base time.Duration) string {
		if base <= 0 {
			return "  -  "
		}
		return fmt.Sprintf("%+.0f %%", (float64(d)/float64(base)-1)*100)
	}
	for _, r := range reps {
		l := r.Latency
		fmt.Fprintf(w, "%8d  %9d  %10.1f  %6.1f (%6s)  %6.1f  %6.1f (%6s)  %6.1f  %5.1f  %11.1f\n",
			r.Replicas, r.Mailboxes, perSecond(r.Handled(), r.Elapsed),
			msf(l.P50), change(l.P50, first.P50), msf(l.P90), msf(l.P99), change(l.P99, first.P99), msf(l.Max),
			r.CPU.Seconds(), float64(r.PeakRSS)/1e6)
	}
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
