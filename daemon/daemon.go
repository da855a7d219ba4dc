// Package daemon is attestd's mail loop: it watches the service mailboxes
// over IMAP, hands every message to the queue (package queue: claim,
// decide, store, send, record) and files it in its folder, and runs the
// work queue's jobs: the outbox's retries and the retention of raw content
// (SPEC sections 5 and 8; see jobs.go).
//
// # The loops
//
// For each mailbox (imap.mailboxes), one IMAP connection IDLEs and says
// when the mailbox may have news; the work connection sweeps the mailbox
// then (and every poll interval anyway), fetches what is new in batches,
// hands each message to [queue.Queue.Handle] on a bounded number of
// goroutines, and moves the handled ones to their folders, one MOVE per
// folder, before closing their claims. A message whose reply could not go
// out stays in the mailbox until the reply's job settles it. A crash
// anywhere resumes from the ledger (see package queue).
//
// # Several replicas
//
// Replicas on one store share the mailboxes: each mailbox's connections
// run only in the replica holding its lease in the store (see lease.go),
// and the ledger writes made for its messages are fenced by that lease. A
// replica that stops releases its leases; one that dies loses them after
// their TTL, and another replica takes its mailboxes over.
package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/decide"
	"github.com/cpam/attestd/identity"
	"github.com/cpam/attestd/mailauth"
	"github.com/cpam/attestd/outbox"
	"github.com/cpam/attestd/queue"
	"github.com/cpam/attestd/redact"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
	"github.com/cpam/attestd/templates/attestation"
	"github.com/cpam/attestd/templates/reply"
)

// Store is what the daemon needs of the store: the roles of *store.DB the
// loops, the HTTP API and the console's retry play.
type Store interface {
	identity.Registry
	store.Ledger
	store.Outbox
	store.Counts
	store.Handover
	store.Senders
	store.Retention
	store.Calls
	store.Reopen
	store.Jobs
	store.Leases
}

// Result is what became of one message, for observers (the demo, the
// benchmark, tests). It carries no personal data beyond the reply address.
type Result struct {
	Key       store.MessageKey
	MessageID string
	Outcome   rules.Outcome
	Folder    string
	Channel   identity.Channel
	ReplyTo   string // "" when no reply went out
	Reference string
	Duration  time.Duration // from fetch to filed
	// Detail says why, when the outcome alone does not (suppressed,
	// rejected, unverified): never personal data.
	Detail string
}

// Options are the daemon's seams.
type Options struct {
	Store Store
	// Mailer hands replies to the relay; nil: an SMTP sender made from the
	// configuration.
	Mailer  queue.Mailer
	PDF     *attestation.PDFRenderer
	Replies *reply.Replies
	Logger  *slog.Logger
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Today, when not zero, fixes the date the rules run at (acceptance
	// environments); the clock still stamps records and mails.
	Today rules.Date
	// LookupTXT fetches DKIM keys; nil: DNS.
	LookupTXT func(domain string) ([]string, error)
	// Signer DKIM-signs replies; nil: unsigned.
	Signer outbox.Signer
	// Results, when not nil, receives every message's result. The daemon
	// blocks on it: the observer must keep reading.
	Results chan<- Result
	// IMAPPassword, when set, is the password of every mailbox (the demo's
	// and the tests' servers); empty: each mailbox's password_file or
	// password_env.
	IMAPPassword string
	// IMAPTLS overrides the TLS configuration of the IMAP connections.
	IMAPTLS *tls.Config
	// Observer is told what the daemon does (metrics); nil: nobody.
	Observer Observer
	// Replica names this daemon as a mailbox lease holder; empty:
	// host/pid/random (see replicaID).
	Replica string
}

// Daemon is one running attestd.
type Daemon struct {
	cfg     config.Config
	store   Store
	queue   *queue.Queue
	jobs    *queue.Jobs // the work queue: reply retries, periodic jobs
	decider *decide.Decider
	sender  *outbox.Pool // made by New, closed by Close
	log     *slog.Logger
	now     func() time.Time
	results chan<- Result
	obs     Observer
	boxes   []*intake     // one per mailbox, in configuration order
	sem     chan struct{} // one token per message being handled, all mailboxes together: cfg.Workers

	leases     store.Leases
	replica    string
	leaseTTL   time.Duration
	leaseRenew time.Duration
}

// DefaultWorkers is the workers setting when the configuration has none:
// two per CPU. A message spends more than half of its time waiting (for
// the relay to answer the end of its reply's data, for the store's write
// lock), so one per CPU leaves the CPUs idle in a burst; each worker is
// also an SMTP connection, and its message and PDF count in the peak RSS
// (docs/performance.md).
func DefaultWorkers() int { return 2 * runtime.NumCPU() }

// New builds a daemon; it does no network I/O. Seams left nil in o are
// made from the configuration: the PDF renderer, the reply templates
// (cfg.Templates overrides), the SMTP mailer (cfg.SMTP), the IMAP password
// (each mailbox's password_file or password_env). Close releases them.
func New(cfg config.Config, o Options) (*Daemon, error) {
	if o.Store == nil {
		return nil, errors.New("daemon: a store is required")
	}
	if cfg.Workers == 0 {
		cfg.Workers = DefaultWorkers()
	}
	sender, err := withDefaults(cfg, &o)
	if err != nil {
		return nil, err
	}
	passwords, err := mailboxPasswords(cfg, &o)
	if err != nil {
		return nil, err
	}
	d := &Daemon{
		cfg: cfg, store: o.Store, sender: sender, log: o.Logger, now: o.Now, results: o.Results, obs: o.Observer,
		leases: o.Store, replica: o.Replica, leaseTTL: leaseTTL, leaseRenew: leaseRenew,
		sem: make(chan struct{}, cfg.Workers),
	}
	if d.replica == "" {
		d.replica = replicaID()
	}
	for _, m := range cfg.Mailboxes() {
		d.boxes = append(d.boxes, newIntake(d, m, passwords[m.Name], &o))
	}
	d.decider = decide.New(cfg, decide.Options{Counts: o.Store, Registry: o.Store, PDF: o.PDF, Replies: o.Replies,
		Signer: o.Signer, Today: o.Today, Logger: o.Logger, Observer: o.Observer,
		Auth: &mailauth.Authenticator{TrustedIDs: cfg.Trust.AuthservIDs, LookupTXT: o.LookupTXT}})
	// On PostgreSQL the sent note goes to the database too, where every
	// replica reads it; a journal file beside it closes the window of its
	// round trip, with the sender marks (see queue.Options.Senders).
	var (
		handover store.Handover
		node     string
	)
	if cfg.Outbox.JournalInDatabase() || cfg.Store.Driver == store.DriverPostgres && cfg.Outbox.JournalPath() != "" {
		handover = o.Store
	}
	if cfg.Outbox.JournalPath() != "" {
		node = cfg.Outbox.Node
	}
	d.queue, err = queue.New(queue.Options{Store: o.Store, Mailer: o.Mailer, Decider: d.decider, Logger: o.Logger,
		Now: o.Now, Observer: o.Observer, MaxAttempts: cfg.Limits.MaxAttempts, JournalPath: cfg.Outbox.JournalPath(), Handover: handover,
		Senders: o.Store, Node: node, SenderWait: cfg.Outbox.SenderWait.D(),
		Retry: queue.RetryPolicy{Initial: cfg.Outbox.RetryInitial.D(), Max: cfg.Outbox.RetryMax.D(), MaxAttempts: cfg.Outbox.MaxAttempts}})
	if err != nil {
		d.Close()
		return nil, err
	}
	if d.jobs, err = d.newJobs(context.Background(), o.Store); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// withDefaults makes the seams left nil in o from cfg, and the SMTP sender
// when it makes the mailer.
func withDefaults(cfg config.Config, o *Options) (*outbox.Pool, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	if o.IMAPTLS == nil && cfg.IMAP.InsecureSkipVerify {
		o.IMAPTLS = &tls.Config{InsecureSkipVerify: true}
	}
	// Every log line passes through the redactor: error texts of the
	// store, the IMAP server or the SMTP relay may hold addresses.
	keep := cfg.ServiceAddresses()
	for _, m := range cfg.Mailboxes() {
		keep = append(keep, m.Username)
	}
	red, err := redact.New(keep...)
	if err != nil {
		return nil, err
	}
	o.Logger = slog.New(red.Handler(o.Logger.Handler()))
	if err := renderers(cfg, o); err != nil {
		return nil, err
	}
	if o.LookupTXT == nil {
		if o.LookupTXT, err = config.KeyLookup(cfg.Trust.DKIMKeys); err != nil {
			return nil, err
		}
	}
	if o.Signer == nil {
		if o.Signer, err = cfg.DKIM.Signer(); err != nil {
			return nil, fmt.Errorf("config: dkim: %w", err)
		}
	}
	if o.Mailer != nil {
		return nil, nil
	}
	return smtpSender(cfg, o)
}

// renderers makes the PDF renderer and the reply templates left nil.
func renderers(cfg config.Config, o *Options) (err error) {
	if o.PDF == nil {
		if o.PDF, err = signingRenderer(cfg.Signing, o.Logger); err != nil {
			return err
		}
	}
	if o.Replies == nil {
		if o.Replies, err = reply.LoadReplies(cfg.Templates); err != nil {
			return err
		}
	}
	return nil
}

// smtpSender makes the mailer of the smtp section: one connection per
// worker at most, so that no worker waits for the relay to answer
// another's reply.
func smtpSender(cfg config.Config, o *Options) (*outbox.Pool, error) {
	password := ""
	if cfg.SMTP.Username != "" {
		var err error
		if password, err = cfg.SMTP.Password(); err != nil {
			return nil, fmt.Errorf("smtp password: %w", err)
		}
	}
	sender := outbox.NewPool(outbox.SMTPConfig{
		Address: cfg.SMTP.Address, TLS: cfg.SMTP.TLS, Username: cfg.SMTP.Username, Password: password,
		HELO: cfg.SMTP.HELO, Timeout: cfg.SMTP.Timeout.D(), InsecureSkipVerify: cfg.SMTP.InsecureSkipVerify,
	}, cfg.Workers)
	o.Mailer = sender
	return sender, nil
}

// Close releases what New made: the SMTP connection and the sent journal.
func (d *Daemon) Close() error {
	var err error
	if d.sender != nil {
		err = d.sender.Close()
	}
	if d.queue != nil {
		err = errors.Join(err, d.queue.Close())
	}
	return err
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Run serves until ctx is done, then stops fetching, finishes what is in
// flight, releases its mailbox leases and returns nil. It returns an
// error only when it cannot start.
func (d *Daemon) Run(ctx context.Context) error {
	running.Store(d.replica, true)
	defer running.Delete(d.replica)
	d.queue.Recover(ctx)
	var wg sync.WaitGroup
	wg.Add(1 + len(d.boxes))
	go func() { defer wg.Done(); d.runJobs(ctx) }()
	for _, b := range d.boxes {
		go func() { defer wg.Done(); b.run(ctx) }()
	}
	stopped := context.AfterFunc(ctx, func() {
		d.log.Info("stop requested: fetching stopped, finishing what is in flight")
	})
	defer stopped()
	wg.Wait()
	return nil
}

// replySettled wakes the work connection of every mailbox: a reply went
// out (or failed for good), and its original may be filed.
func (d *Daemon) replySettled() {
	for _, b := range d.boxes {
		signal(b.sentWake)
	}
}

// reconnect is the back-off of the IMAP connections: from 500 ms to 30 s.
var reconnect = queue.RetryPolicy{Initial: 500 * time.Millisecond, Max: 30 * time.Second}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// signingRenderer is the PDF renderer of the configuration: signing when
// signing.key_file is set. It says once in the log which.
func signingRenderer(c config.SigningConfig, log *slog.Logger) (*attestation.PDFRenderer, error) {
	pdf, err := attestation.NewPDFRenderer()
	if err != nil {
		return nil, err
	}
	s, err := c.Signer()
	if err != nil {
		return nil, fmt.Errorf("config: signing: %w", err)
	}
	ds, err := c.DocumentSigner()
	if err != nil {
		return nil, fmt.Errorf("config: signing.pdf_certificate: %w", err)
	}
	if ds != nil {
		log.Info("attestation PDFs carry a PAdES signature")
		pdf = pdf.WithDocumentSigner(ds)
	}
	if s == nil {
		log.Info("attestations carry no signed 2D code: signing.key_file is not set")
		return pdf, nil
	}
	log.Info("attestations carry a signed 2D code", "key_id", s.KeyID())
	return pdf.WithSigner(s), nil
}
