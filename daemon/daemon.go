// Package daemon is attestd's mail loop: it watches the service mailbox,
// decides each request, stores the decision and its reply in one
// transaction, sends the reply and files the original (SPEC sections 5
// and 8).
//
// # Order of effects
//
// For every message: claim it in the ledger (the attempt is counted before
// anything else), decide, store outcome and reply together, send, record the
// reply sent, move the original to its folder, mark the claim done. A crash
// anywhere resumes from the ledger: a decided message is never decided
// again, a sent reply is never sent again, and a message is only moved once
// its reply is out (or permanently refused).
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

	"github.com/cpam/attestd/inbox"
	"github.com/cpam/attestd/mailauth"
	"github.com/cpam/attestd/outbox"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
	"github.com/cpam/attestd/templates/attestation"
	"github.com/cpam/attestd/templates/reply"
)

// Store is what the daemon needs of the store.
type Store interface {
	Registry
	Claim(ctx context.Context, key store.MessageKey, messageID string, raw []byte) (*store.Claim, error)
	RecordDecision(ctx context.Context, claimID int64, d store.Decision, now time.Time) error
	MarkDone(ctx context.Context, claimID int64, now time.Time) error
	OutboxForClaim(ctx context.Context, claimID int64) (*store.OutboxItem, error)
	DueOutbox(ctx context.Context, now time.Time, limit int) ([]store.OutboxItem, error)
	MarkSent(ctx context.Context, id int64, now time.Time) error
	MarkRetry(ctx context.Context, id int64, errText string, next time.Time) error
	MarkPermanent(ctx context.Context, id int64, errText string, now time.Time) error
	PurgeRaw(ctx context.Context, before time.Time) (int64, error)
	Unfinished(ctx context.Context, mailbox string) ([]store.Claim, error)
	CountIssuedSince(ctx context.Context, compteID string, since time.Time) (int, error)
	CountGenericSince(ctx context.Context, address string, since time.Time) (int, error)
	RecordCall(ctx context.Context, callID string, d store.Decision, now time.Time) (int64, error)
	EntryByID(ctx context.Context, id int64) (*store.Entry, []byte, error)
	ReopenClaim(ctx context.Context, claimID int64, folders []string, e store.AuditEntry) error
}

// Mailer sends a stored reply.
type Mailer interface {
	Send(ctx context.Context, from string, to []string, raw []byte) error
}

// Result is what became of one message, for observers (the demo, the
// benchmark, tests). It carries no personal data beyond the reply address.
type Result struct {
	Key       store.MessageKey
	MessageID string
	Outcome   rules.Outcome
	Folder    string
	Channel   Channel
	ReplyTo   string // "" when no reply went out
	Reference string
	Duration  time.Duration // from fetch to filed
	// Detail says why, when the outcome alone does not (suppressed,
	// rejected, unverified): never personal data.
	Detail string
}

// Options are the daemon's seams.
type Options struct {
	Store   Store
	Mailer  Mailer
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
	cfg     Config
	store   Store
	mailer  Mailer
	sender  *outbox.Sender // made by New, closed by Close
	pdf     *attestation.PDFRenderer
	replies *reply.Replies
	log     *slog.Logger
	now     func() time.Time
	fixed   rules.Date
	auth    *mailauth.Authenticator
	ident   *Identifier
	signer  outbox.Signer
	limits  inbox.Limits
	service reply.ServiceInfo
	results chan<- Result
	imap    inbox.IMAPConfig
	obs     Observer

	wake     chan struct{} // the mailbox may have news
	sentWake chan struct{} // a reply went out: its original may move
	rate     *rateGate     // rate limits under concurrent decisions
	flight   *flight       // claims and replies being worked on now
	journal  *sentJournal  // replies handed to the relay; nil: outbox.journal off
	// handedBefore are the replies the journal says a previous run handed
	// to the relay: Run records them as sent before anything else.
	handedBefore []int64
}

// New builds a daemon; it does no network I/O. Seams left nil in o are
// made from the configuration: the PDF renderer, the reply templates
// (cfg.Templates overrides), the SMTP mailer (cfg.SMTP), the IMAP password
// (cfg.IMAP's password_file or password_env). Close releases them.
func New(cfg Config, o Options) (*Daemon, error) {
	if o.Store == nil {
		return nil, errors.New("daemon: a store is required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.NumCPU()
	}
	var err error
	if o.PDF == nil {
		if o.PDF, err = signingRenderer(cfg.Signing, o.Logger); err != nil {
			return nil, err
		}
	}
	if o.Replies == nil {
		if o.Replies, err = reply.LoadReplies(cfg.Templates); err != nil {
			return nil, err
		}
	}
	if o.IMAPPassword == "" {
		if o.IMAPPassword, err = cfg.IMAP.Password(); err != nil {
			return nil, fmt.Errorf("imap password: %w", err)
		}
	}
	var sender *outbox.Sender
	if o.Mailer == nil {
		smtpPassword := ""
		if cfg.SMTP.Username != "" {
			if smtpPassword, err = cfg.SMTP.Password(); err != nil {
				return nil, fmt.Errorf("smtp password: %w", err)
			}
		}
		sender = outbox.NewSender(outbox.SMTPConfig{
			Address: cfg.SMTP.Address, TLS: cfg.SMTP.TLS, Username: cfg.SMTP.Username, Password: smtpPassword,
			HELO: cfg.SMTP.HELO, Timeout: cfg.SMTP.Timeout.D(), InsecureSkipVerify: cfg.SMTP.InsecureSkipVerify,
		})
		o.Mailer = sender
	}
	if o.LookupTXT == nil {
		if o.LookupTXT, err = KeyLookup(cfg.Trust.DKIMKeys); err != nil {
			return nil, err
		}
	}
	if o.Signer == nil {
		if o.Signer, err = cfg.DKIM.Signer(); err != nil {
			return nil, fmt.Errorf("config: dkim: %w", err)
		}
	}
	// Every log line passes through the redactor: error texts of the
	// store, the IMAP server or the SMTP relay may hold addresses.
	red, err := newRedactor(cfg.Service.Address, cfg.IMAP.Username)
	if err != nil {
		return nil, err
	}
	o.Logger = slog.New(&redactHandler{next: o.Logger.Handler(), r: red})
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	if cfg.Store.Driver == store.DriverSQLite {
		o.Store = gatedStore{Store: o.Store, g: newWriteGate()} // see writeGate
	}
	if o.IMAPTLS == nil && cfg.IMAP.InsecureSkipVerify {
		o.IMAPTLS = &tls.Config{InsecureSkipVerify: true}
	}
	d := &Daemon{
		cfg: cfg, store: o.Store, mailer: o.Mailer, sender: sender, pdf: o.PDF, replies: o.Replies, log: o.Logger,
		now: o.Now, fixed: o.Today, signer: o.Signer, results: o.Results, obs: o.Observer,
		auth: &mailauth.Authenticator{TrustedIDs: cfg.Trust.AuthservIDs, LookupTXT: o.LookupTXT},
		ident: &Identifier{Registry: o.Store, AgentDomains: cfg.Trust.AgentDomains, AgentAddresses: cfg.Trust.AgentAddresses,
			GatewayDomain: cfg.Trust.Gateway.Domain, GatewayHeader: cfg.Trust.Gateway.Header},
		limits:   limitsOf(cfg.Limits),
		service:  reply.DefaultServiceInfo(),
		wake:     make(chan struct{}, 1),
		sentWake: make(chan struct{}, 1),
		rate:     newRateGate(),
		flight:   newFlight(),
	}
	if path := cfg.Outbox.JournalPath(); path != "" {
		if d.journal, d.handedBefore, err = openJournal(path); err != nil {
			return nil, err
		}
	}
	d.imap = inbox.IMAPConfig{
		Address: cfg.IMAP.Address, TLS: cfg.IMAP.TLS, Username: cfg.IMAP.Username, Password: o.IMAPPassword,
		Mailbox: cfg.IMAP.Mailbox, IdleWakeup: cfg.IMAP.IdleWakeup.D(), Timeout: cfg.IMAP.Timeout.D(),
		TLSConfig: o.IMAPTLS,
	}
	return d, nil
}

// Close releases what New made: the SMTP connection and the sent journal.
func (d *Daemon) Close() error {
	var err error
	if d.sender != nil {
		err = d.sender.Close()
	}
	if d.journal != nil {
		err = errors.Join(err, d.journal.Close())
	}
	return err
}

func limitsOf(l LimitsConfig) inbox.Limits {
	lim := inbox.DefaultLimits()
	lim.MaxMessageBytes = l.MaxMessageBytes
	lim.MaxDepth = l.MaxMIMEDepth
	lim.MaxParts = l.MaxMIMEParts
	lim.MaxForwardDepth = l.MaxForwardDepth
	lim.MaxTextBytes = l.MaxTextBytes
	return lim
}

func (d *Daemon) today(now time.Time) rules.Date {
	if !d.fixed.IsZero() {
		return d.fixed
	}
	return rules.DateOf(now)
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
	d.recoverHanded(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); d.watchLoop(ctx) }()
	go func() { defer wg.Done(); d.jobs(ctx) }()
	stopped := context.AfterFunc(ctx, func() {
		d.log.Info("stop requested: fetching stopped, finishing what is in flight")
	})
	defer stopped()
	d.workLoop(ctx)
	wg.Wait()
	return nil
}

// backoff grows from 500 ms to 30 s.
func backoff(attempt int) time.Duration {
	d := 500 * time.Millisecond << min(attempt, 6)
	return min(d, 30*time.Second)
}

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
		if !sleep(ctx, backoff(attempt)) {
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
		if !sleep(ctx, backoff(attempt)) {
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

// deliver sends one stored reply and records what happened, unless another
// goroutine is sending it or it was settled or rescheduled meanwhile (it is
// read again first). It returns the reply's state afterwards:
// store.OutboxPending while it waits (for a retry, or for the goroutine
// that has it), store.OutboxSent or store.OutboxPermanent.
//
// SMTP has no way to ask the relay afterwards whether it took a reply.
// With a sent journal (outbox.journal, see sentJournal) the reply is noted
// the instant its final dot is out, and a restart records it instead of
// sending it again: it goes out twice only if the process dies between
// those two writes. Without one, the window is the store write of
// MarkSent, which comes right after Send and is retried at once. Either
// way a reply whose acceptance could not be recorded is never sent again
// by this process, only recorded.
func (d *Daemon) deliver(ctx context.Context, it *store.OutboxItem) string {
	if !d.flight.startSend(it.ID) {
		return store.OutboxPending
	}
	defer d.flight.endSend(it.ID)
	cur, err := d.store.OutboxForClaim(ctx, it.ClaimID)
	switch {
	case err != nil:
		d.log.Warn("outbox: cannot read the reply, will retry", "outbox_id", it.ID, "err", err)
		return store.OutboxPending
	case cur == nil || cur.ID != it.ID:
		return store.OutboxPending // a claim has one reply: not reached
	case cur.State != store.OutboxPending:
		return cur.State
	}
	now := d.now()
	if cur.NextAttempt.After(now) {
		return store.OutboxPending // rescheduled since it was listed
	}
	if d.flight.isUnrecorded(cur.ID) {
		return d.recordSent(ctx, cur.ID)
	}
	err = d.send(ctx, cur)
	switch {
	case err == nil:
		return d.recordSent(ctx, cur.ID)
	case outbox.IsTemporary(err) && cur.Attempts+1 < d.cfg.Outbox.MaxAttempts:
		next := now.Add(d.retryDelay(cur.Attempts))
		d.log.Warn("outbox: temporary failure, will retry", "outbox_id", cur.ID, "attempt", cur.Attempts+1, "next", next, "err", err)
		d.obs.ReplyDeferred(relayAnswered(err))
		if err := d.store.MarkRetry(ctx, cur.ID, err.Error(), next); err != nil {
			d.log.Error("outbox: cannot record the retry", "outbox_id", cur.ID, "err", err)
		}
		return store.OutboxPending
	default:
		d.log.Error("outbox: permanent failure, not retried; see `attestd outbox list`", "outbox_id", cur.ID, "err", err)
		d.obs.ReplyRefused()
		if err := d.store.MarkPermanent(ctx, cur.ID, err.Error(), now); err != nil {
			d.log.Error("outbox: cannot record the permanent failure", "outbox_id", cur.ID, "err", err)
			return store.OutboxPending
		}
		return store.OutboxPermanent
	}
}

// recordSent records a reply the relay accepted, trying a few times at
// once: until it is recorded, a restart would send it again.
func (d *Daemon) recordSent(ctx context.Context, id int64) string {
	var err error
	for try := range 4 {
		if err = d.store.MarkSent(ctx, id, d.now()); err == nil {
			d.flight.setUnrecorded(id, false)
			d.journalRecorded(id)
			d.obs.ReplySent()
			return store.OutboxSent
		}
		d.log.Warn("outbox: cannot record a sent reply yet, trying again", "outbox_id", id, "try", try+1, "err", err)
		if !sleep(ctx, 50*time.Millisecond<<try) {
			break
		}
	}
	d.flight.setUnrecorded(id, true)
	d.log.Error("outbox: reply sent but not recorded; recorded at the next retry, sent again only if attestd stops before",
		"outbox_id", id, "err", err)
	return store.OutboxPending
}

func (d *Daemon) retryDelay(attempts int) time.Duration {
	delay := d.cfg.Outbox.RetryInitial.D() << min(attempts, 20)
	return min(delay, d.cfg.Outbox.RetryMax.D())
}
