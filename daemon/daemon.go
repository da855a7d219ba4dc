// Package daemon is attestd's mail loop: it watches the service mailbox
// over IMAP, hands every message to the queue (package queue: claim,
// decide, store, send, record) and files it in its folder, and runs the
// work queue's jobs: the outbox's retries and the retention of raw content
// (SPEC sections 5 and 8; see jobs.go).
//
// # The loops
//
// One IMAP connection IDLEs and says when the mailbox may have news; the
// work connection sweeps the mailbox then (and every poll interval
// anyway), fetches what is new in batches, hands each message to
// [queue.Queue.Handle] on a bounded number of goroutines, and moves the
// handled ones to their folders, one MOVE per folder, before closing their
// claims. A message whose reply could not go out stays in the mailbox until
// the reply's job settles it. A crash anywhere resumes from the
// ledger (see package queue).
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
	"github.com/cpam/attestd/inbox"
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
	store.Retention
	store.Calls
	store.Reopen
	store.Jobs
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
	// IMAPPassword is the service mailbox's password (the config names
	// where to read it).
	IMAPPassword string
	// IMAPTLS overrides the TLS configuration of the IMAP connections.
	IMAPTLS *tls.Config
	// Observer is told what the daemon does (metrics); nil: nobody.
	Observer Observer
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
	imap    inbox.IMAPConfig
	obs     Observer

	wake     chan struct{} // the mailbox may have news
	sentWake chan struct{} // a reply went out: its original may move
}

// New builds a daemon; it does no network I/O. Seams left nil in o are
// made from the configuration: the PDF renderer, the reply templates
// (cfg.Templates overrides), the SMTP mailer (cfg.SMTP), the IMAP password
// (cfg.IMAP's password_file or password_env). Close releases them.
func New(cfg config.Config, o Options) (*Daemon, error) {
	if o.Store == nil {
		return nil, errors.New("daemon: a store is required")
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.NumCPU()
	}
	sender, err := withDefaults(cfg, &o)
	if err != nil {
		return nil, err
	}
	d := &Daemon{
		cfg: cfg, store: o.Store, sender: sender, log: o.Logger, now: o.Now, results: o.Results, obs: o.Observer,
		wake: make(chan struct{}, 1), sentWake: make(chan struct{}, 1),
		imap: inbox.IMAPConfig{
			Address: cfg.IMAP.Address, TLS: cfg.IMAP.TLS, Username: cfg.IMAP.Username, Password: o.IMAPPassword,
			Mailbox: cfg.IMAP.Mailbox, IdleWakeup: cfg.IMAP.IdleWakeup.D(), BusyPoll: cfg.IMAP.BusyPoll.D(),
			Timeout:   cfg.IMAP.Timeout.D(),
			TLSConfig: o.IMAPTLS,
		},
	}
	d.decider = decide.New(cfg, decide.Options{Counts: o.Store, Registry: o.Store, PDF: o.PDF, Replies: o.Replies,
		Signer: o.Signer, Today: o.Today, Logger: o.Logger, Observer: o.Observer,
		Auth: &mailauth.Authenticator{TrustedIDs: cfg.Trust.AuthservIDs, LookupTXT: o.LookupTXT}})
	var handover store.Handover
	if cfg.Outbox.JournalInDatabase() {
		handover = o.Store
	}
	d.queue, err = queue.New(queue.Options{Store: o.Store, Mailer: o.Mailer, Decider: d.decider, Logger: o.Logger,
		Now: o.Now, Observer: o.Observer, MaxAttempts: cfg.Limits.MaxAttempts, JournalPath: cfg.Outbox.JournalPath(), Handover: handover,
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
	red, err := redact.New(cfg.Service.Address, cfg.IMAP.Username)
	if err != nil {
		return nil, err
	}
	o.Logger = slog.New(red.Handler(o.Logger.Handler()))
	if err := renderers(cfg, o); err != nil {
		return nil, err
	}
	if o.IMAPPassword == "" {
		if o.IMAPPassword, err = cfg.IMAP.Password(); err != nil {
			return nil, fmt.Errorf("imap password: %w", err)
		}
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
// flight and returns nil. It returns an error only when it cannot start.
func (d *Daemon) Run(ctx context.Context) error {
	d.queue.Recover(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); d.watchLoop(ctx) }()
	go func() { defer wg.Done(); d.runJobs(ctx) }()
	stopped := context.AfterFunc(ctx, func() {
		d.log.Info("stop requested: fetching stopped, finishing what is in flight")
	})
	defer stopped()
	d.workLoop(ctx)
	wg.Wait()
	return nil
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

// watchLoop keeps the IDLE connection up, reconnecting with back-off.
func (d *Daemon) watchLoop(ctx context.Context) {
	// Watch reports on news as soon as it is connected: the first news
	// tells the observer that the IDLE connection is up.
	news := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-news:
				d.obs.IMAPConnection("idle", true)
				signal(d.wake)
			}
		}
	}()
	for attempt := 0; ctx.Err() == nil; attempt++ {
		start := time.Now()
		err := inbox.Watch(ctx, &d.imap, news)
		d.obs.IMAPConnection("idle", false)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			attempt = 0
		}
		d.log.Warn("imap idle connection lost, reconnecting", "err", err, "attempt", attempt+1)
		signal(d.wake) // poll at once on the work connection
		if !sleep(ctx, reconnect.Backoff(attempt+1)) {
			return
		}
	}
}

// workLoop keeps the work connection up and sweeps the mailbox whenever it
// may have news, and every poll interval anyway.
func (d *Daemon) workLoop(ctx context.Context) {
	for attempt := 0; ctx.Err() == nil; attempt++ {
		start := time.Now()
		err := d.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			attempt = 0 // it had been up: start the back-off afresh
		}
		d.log.Warn("imap work connection lost, reconnecting", "err", err, "attempt", attempt+1)
		if !sleep(ctx, reconnect.Backoff(attempt+1)) {
			return
		}
	}
}

func (d *Daemon) session(ctx context.Context) error {
	s, err := inbox.OpenSession(ctx, &d.imap)
	if err != nil {
		return err
	}
	defer s.Close()
	d.obs.IMAPConnection("work", true)
	defer d.obs.IMAPConnection("work", false)
	f := d.cfg.IMAP.Folders
	if err := s.EnsureFolders(f.Processed, f.Manual, f.Quarantine); err != nil {
		return err
	}
	d.log.Info("imap connected", "mailbox", d.cfg.IMAP.Mailbox, "uidvalidity", s.UIDValidity())
	poll := time.NewTicker(d.cfg.IMAP.PollInterval.D())
	defer poll.Stop()
	w := newWorker(d, s)
	for {
		if err := w.sweep(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		case <-d.sentWake:
		case <-poll.C:
		}
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
