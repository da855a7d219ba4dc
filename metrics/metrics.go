// Package metrics shows a running attestd to its operators: Prometheus
// metrics on /metrics, liveness on /healthz and readiness on /readyz.
//
// A [Metrics] value is one daemon's: it owns its own *prometheus.Registry
// (no global registry), and it is the daemon's observer — the daemon calls
// its methods (daemon.Observer) as messages are handled and replies sent.
//
// # Metrics
//
//	attestd_messages_total{outcome}                 messages filed, by outcome (SPEC section 5)
//	attestd_message_duration_seconds                histogram, from fetch to filed
//	attestd_message_deferrals_total                 messages left for the next sweep (internal error)
//	attestd_attestations_rendered_total             attestation PDFs rendered (none for a request over its limit)
//	attestd_replies_sent_total                      replies accepted by the SMTP relay
//	attestd_reply_retries_total                     temporary SMTP failures (the outbox retries)
//	attestd_reply_permanent_failures_total          replies given up (5xx, or attempts exhausted)
//	attestd_outbox_depth                            replies stored and not yet sent (read at scrape)
//	attestd_imap_connected{connection}              work: 1 while a mailbox's work connection is up;
//	                                                idle: 1 while every mailbox served has its IDLE up
//	attestd_imap_last_poll_timestamp_seconds        last successful command on the work connection
//	attestd_smtp_reachable                          0 after a send that reached no relay, 1 otherwise
//	attestd_build_info{version,revision,goversion}  1; the labels say what the binary was built from
//
// plus the Go runtime and process collectors (go_*, process_*).
//
// # Readiness
//
// /readyz answers 200 when the IMAP mailbox, the SMTP relay and the store
// are all reachable, 503 with the failing ones otherwise:
//   - IMAP: the work connection is up and a command on it succeeded within
//     Options.PollStale (the daemon sweeps at least every poll interval);
//   - SMTP: the last attempt to send reached a relay (passive: attestd does
//     not open connections just to be probed; before any send, reachable);
//   - store: a query (the outbox depth) answers within a second.
package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Options are what Metrics needs from the daemon's surroundings.
type Options struct {
	// OutboxDepth counts the replies waiting to be sent. It is called at
	// each scrape and by /readyz, which also takes its success as the
	// store being reachable. nil: no outbox gauge, store not checked.
	OutboxDepth func(ctx context.Context) (int, error)
	// PollStale is how old the last successful IMAP command may be before
	// /readyz reports the mailbox unreachable. Zero: 30 s.
	PollStale time.Duration
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Build is what the binary was built from, shown as attestd_build_info.
	Build Build
}

// Build names a binary: its version, VCS revision and Go release.
type Build struct {
	Version, Revision, GoVersion string
}

// Metrics is one daemon's metrics and health state. It implements
// daemon.Observer; all methods are safe for concurrent use.
type Metrics struct {
	reg  *prometheus.Registry
	opts Options

	messages  *prometheus.CounterVec
	duration  prometheus.Histogram
	deferrals prometheus.Counter
	rendered  prometheus.Counter
	sent      prometheus.Counter
	retries   prometheus.Counter
	permanent prometheus.Counter
	imapUp    *prometheus.GaugeVec
	lastPoll  prometheus.Gauge
	smtpReach prometheus.Gauge
	held      *prometheus.GaugeVec
	mu        sync.Mutex
	workUp    int // work connections up, one per mailbox held
	// idle says, per mailbox this replica serves, whether its IDLE
	// connection is up.
	idle map[string]bool
	// holds says, per mailbox this replica was told about, whether it
	// holds its lease; none held while told about some: a standby.
	holds        map[string]bool
	lastPollTime time.Time
	smtpDown     bool
}

// New makes the metrics of one daemon, registered on a registry of their
// own together with the Go runtime and process collectors.
func New(o Options) *Metrics {
	if o.PollStale <= 0 {
		o.PollStale = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Metrics{reg: prometheus.NewRegistry(), opts: o}
	m.messages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "attestd_messages_total", Help: "Messages filed, by outcome.",
	}, []string{"outcome"})
	m.duration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "attestd_message_duration_seconds",
		Help:    "Time from a message's fetch to its filing, reply sent.",
		Buckets: []float64{.005, .01, .025, .05, .1, .15, .25, .5, 1, 2.5, 5, 10, 30},
	})
	m.deferrals = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "attestd_message_deferrals_total", Help: "Messages left in the mailbox for the next sweep after an internal error.",
	})
	m.rendered = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "attestd_attestations_rendered_total", Help: "Attestation PDFs rendered.",
	})
	m.sent = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "attestd_replies_sent_total", Help: "Replies accepted by the SMTP relay.",
	})
	m.retries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "attestd_reply_retries_total", Help: "Temporary SMTP failures; the outbox retries them.",
	})
	m.permanent = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "attestd_reply_permanent_failures_total", Help: "Replies given up: refused for good, or out of attempts.",
	})
	m.imapUp = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "attestd_imap_connected", Help: "1 when the IMAP connection (work or idle) is up.",
	}, []string{"connection"})
	m.lastPoll = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "attestd_imap_last_poll_timestamp_seconds", Help: "Unix time of the last successful command on the IMAP work connection.",
	})
	m.smtpReach = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "attestd_smtp_reachable", Help: "0 after a send that reached no SMTP relay, 1 otherwise.",
	})
	m.smtpReach.Set(1)
	m.held = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "attestd_mailbox_held", Help: "1 while this replica holds the mailbox's lease and watches it, 0 while another replica does.",
	}, []string{"mailbox"})
	for _, c := range []string{"work", "idle"} {
		m.imapUp.WithLabelValues(c).Set(0)
	}
	m.reg.MustRegister(m.messages, m.duration, m.deferrals, m.rendered, m.sent, m.retries, m.permanent,
		m.imapUp, m.lastPoll, m.smtpReach, m.held,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "attestd_build_info", Help: "Always 1; the labels say which version and VCS revision run, built with which Go.",
	}, []string{"version", "revision", "goversion"})
	build.WithLabelValues(o.Build.Version, o.Build.Revision, o.Build.GoVersion).Set(1)
	m.reg.MustRegister(build)
	if o.OutboxDepth != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "attestd_outbox_depth", Help: "Replies stored and not yet sent (-1: the store did not answer).",
		}, m.outboxDepth))
	}
	return m
}

// Registry is the registry the metrics are on, to add more or to gather.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

func (m *Metrics) outboxDepth() float64 {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n, err := m.opts.OutboxDepth(ctx)
	if err != nil {
		return -1
	}
	return float64(n)
}

// MessageHandled counts a filed message and its processing time.
func (m *Metrics) MessageHandled(outcome string, took time.Duration) {
	m.messages.WithLabelValues(outcome).Inc()
	m.duration.Observe(took.Seconds())
}

// MessageDeferred counts a message left for the next sweep.
func (m *Metrics) MessageDeferred() { m.deferrals.Inc() }

// AttestationRendered counts an attestation PDF rendered.
func (m *Metrics) AttestationRendered() { m.rendered.Inc() }

// ReplySent counts a reply the relay accepted.
func (m *Metrics) ReplySent() {
	m.sent.Inc()
	m.setSMTP(true)
}

// ReplyDeferred counts a temporary SMTP failure.
func (m *Metrics) ReplyDeferred(reachable bool) {
	m.retries.Inc()
	m.setSMTP(reachable)
}

// ReplyRefused counts a reply given up.
func (m *Metrics) ReplyRefused() { m.permanent.Inc() }

func (m *Metrics) setSMTP(reachable bool) {
	m.mu.Lock()
	m.smtpDown = !reachable
	m.mu.Unlock()
	if reachable {
		m.smtpReach.Set(1)
	} else {
		m.smtpReach.Set(0)
	}
}

// IMAPConnection records whether mailbox's "work" or "idle" connection is
// up. With several mailboxes, the work gauge is 1 while any mailbox's work
// connection is up (each goes up and down in pairs: readiness asks for a
// mailbox being watched); the idle gauge is 1 while every mailbox this
// replica serves has its IDLE connection up (one down means its new mail
// waits for the poll).
func (m *Metrics) IMAPConnection(mailbox, conn string, up bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if conn != "work" {
		if m.idle == nil {
			m.idle = map[string]bool{}
		}
		m.idle[mailbox] = up
		m.setIdle()
		return
	}
	if up {
		m.workUp++
	} else if m.workUp > 0 {
		m.workUp--
	}
	m.imapUp.WithLabelValues(conn).Set(min(float64(m.workUp), 1))
}

// MailboxHeld records whether this replica holds a mailbox's lease.
func (m *Metrics) MailboxHeld(mailbox string, held bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.holds == nil {
		m.holds = map[string]bool{}
	}
	m.holds[mailbox] = held
	v := 0.0
	if held {
		v = 1
	} else if _, ok := m.idle[mailbox]; ok {
		delete(m.idle, mailbox) // served by another replica now
		m.setIdle()
	}
	m.held.WithLabelValues(mailbox).Set(v)
}

// setIdle sets the idle gauge from m.idle; m.mu held.
func (m *Metrics) setIdle() {
	v := 0.0
	if len(m.idle) > 0 {
		v = 1
	}
	for _, up := range m.idle {
		if !up {
			v = 0
		}
	}
	m.imapUp.WithLabelValues("idle").Set(v)
}

// standby reports whether this replica watches no mailbox because others
// do; m.mu held.
func (m *Metrics) standby() bool {
	for _, held := range m.holds {
		if held {
			return false
		}
	}
	return len(m.holds) > 0
}

// Polled records a successful command on the work connection.
func (m *Metrics) Polled(t time.Time) {
	m.mu.Lock()
	m.lastPollTime = t
	m.mu.Unlock()
	m.lastPoll.Set(float64(t.UnixNano()) / 1e9)
}
