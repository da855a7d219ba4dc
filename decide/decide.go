// Package decide decides one request: it reads the message (package inbox),
// checks who sends it (an Authenticator, package identity), applies the
// entitlement rules (package rules), renders the attestation and the reply
// (package templates), composes the reply (package outbox) and holds the
// rate limits of SPEC section 7. Its [Decider] is the decision step of
// package queue's state machine; it writes nothing but the rate limits'
// reservations, which the queue releases once the verdict is recorded.
package decide

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/identity"
	"github.com/cpam/attestd/inbox"
	"github.com/cpam/attestd/mailauth"
	"github.com/cpam/attestd/outbox"
	"github.com/cpam/attestd/queue"
	"github.com/cpam/attestd/request"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
	"github.com/cpam/attestd/templates/attestation"
	"github.com/cpam/attestd/templates/reply"
)

// Authenticator tells whether a message really comes from the domain of
// its From address (SPEC section 2, "authenticated"); mailauth.Authenticator
// is the one attestd uses. mustSign lists the header fields a DKIM
// signature must cover to count.
type Authenticator interface {
	Check(raw []byte, from string, mustSign []string) mailauth.Result
}

// Options are the decider's seams.
type Options struct {
	// Counts are the store's counts and reservations of the rate limits.
	Counts store.Counts
	// Registry is where identity looks comptes up.
	Registry identity.Registry
	Auth     Authenticator
	PDF      *attestation.PDFRenderer
	Replies  *reply.Replies
	// Signer DKIM-signs replies; nil: unsigned.
	Signer outbox.Signer
	// Today, when not zero, fixes the date the rules run at (acceptance
	// environments); the clock still stamps records and mails.
	Today  rules.Date
	Logger *slog.Logger
	// Observer is told of every attestation rendered; nil: nobody.
	Observer Observer
}

// Observer is told what the decider does, for metrics; it must be safe for
// concurrent use and cheap.
type Observer interface {
	// AttestationRendered: an attestation PDF was rendered (a request
	// over its compte's daily limit renders none).
	AttestationRendered()
}

type nopObserver struct{}

func (nopObserver) AttestationRendered() {}

// Decider decides messages under one configuration. It is safe for
// concurrent use; the rate limits hold across its goroutines and across
// the deciders of every process on the same store.
type Decider struct {
	cfg     config.Config
	counts  store.Counts
	auth    Authenticator
	ident   *identity.Identifier
	pdf     *attestation.PDFRenderer
	replies *reply.Replies
	signer  outbox.Signer
	fixed   rules.Date
	log     *slog.Logger
	obs     Observer
	limits  inbox.Limits
	service reply.ServiceInfo
	// own are the addresses the service sends from (every mailbox's): mail
	// from them is never answered.
	own []string
	// boxes are the deciders of each mailbox (config.Mailbox.Name): this
	// one with the mailbox's folders, reply From and organisme, sharing
	// everything else, the rate limits among it (the store holds them).
	boxes map[string]*Decider
}

// New returns a Decider for cfg; every seam of o but Signer and Today is
// required.
func New(cfg config.Config, o Options) *Decider {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	t := cfg.Trust
	d := &Decider{
		cfg: cfg, counts: o.Counts, auth: o.Auth, pdf: o.PDF, replies: o.Replies, signer: o.Signer, fixed: o.Today, log: o.Logger, obs: o.Observer,
		ident: &identity.Identifier{Registry: o.Registry, AgentDomains: t.AgentDomains, AgentAddresses: t.AgentAddresses,
			GatewayDomain: t.Gateway.Domain, GatewayHeader: t.Gateway.Header},
		limits:  limitsOf(cfg.Limits),
		service: reply.DefaultServiceInfo(),
		own:     cfg.ServiceAddresses(),
	}
	d.boxes = make(map[string]*Decider)
	for _, m := range cfg.Mailboxes() {
		b := *d
		b.cfg.IMAP.Folders, b.cfg.Service.Address = m.Folders, m.ReplyFrom
		if m.Organisme != "" {
			b.service.Organisation = m.Organisme
		}
		d.boxes[m.Name] = &b
	}
	return d
}

// forMailbox is the decider of the mailbox named so (the ledger key's
// mailbox); d itself for a mailbox it does not know.
func (d *Decider) forMailbox(name string) *Decider {
	if b, ok := d.boxes[name]; ok {
		return b
	}
	return d
}

func limitsOf(l config.LimitsConfig) inbox.Limits {
	lim := inbox.DefaultLimits()
	lim.MaxMessageBytes = l.MaxMessageBytes
	lim.MaxDepth = l.MaxMIMEDepth
	lim.MaxParts = l.MaxMIMEParts
	lim.MaxForwardDepth = l.MaxForwardDepth
	lim.MaxTextBytes = l.MaxTextBytes
	return lim
}

// reference is the attestation's unique reference, derived from the
// message's ledger key so that a decision redone after a crash gives the
// same one; the only place it is made.
func (d *Decider) reference(msgID string, now time.Time) string {
	today := d.today(now)
	sum := sha256.Sum256([]byte(msgID))
	code := base32.StdEncoding.EncodeToString(sum[:])[:10]
	return "AD-" + today.Compact() + "-" + code
}

// today is the date the rules run at.
func (d *Decider) today(now time.Time) rules.Date {
	if !d.fixed.IsZero() {
		return d.fixed
	}
	return rules.DateOf(now)
}

// Decide reads one message of mailbox and decides its outcome and reply,
// as that mailbox answers (its folders, reply From and organisme); the
// verdict's Release must be called once it is recorded (see
// [queue.Decider]). An error is an internal failure (the store
// unreachable): the message is retried.
func (d *Decider) Decide(ctx context.Context, mailbox string, raw []byte, msgID string, now time.Time) (queue.Verdict, error) {
	return d.forMailbox(mailbox).decide(ctx, raw, msgID, now)
}

func (d *Decider) decide(ctx context.Context, raw []byte, msgID string, now time.Time) (queue.Verdict, error) {
	folders := d.cfg.IMAP.Folders
	if raw == nil {
		return queue.Verdict{Outcome: rules.Rejected, Folder: folders.Quarantine, Detail: "over the size limit"}, nil
	}
	msg, err := inbox.ParseMessage(raw, d.limits)
	if err != nil {
		if errors.Is(err, inbox.ErrTooLarge) || errors.Is(err, inbox.ErrUnreadable) {
			return queue.Verdict{Outcome: rules.Rejected, Folder: folders.Quarantine, Detail: err.Error()}, nil
		}
		return queue.Verdict{}, err
	}
	if why := d.suppression(msg); why != "" {
		return queue.Verdict{Outcome: rules.Suppressed, Folder: folders.Processed, Detail: why}, nil
	}
	v, who, done, err := d.identify(ctx, raw, msg, now)
	if err != nil {
		return queue.Verdict{}, err
	}
	if done {
		return v, nil
	}
	v.ReplyTo = who.ReplyTo
	v.Reference = d.reference(msgID, now)
	if who.Outcome != "" {
		v.Outcome = who.Outcome
		if who.Outcome == rules.SenderUnverified {
			v.Folder, v.ReplyTo = folders.Manual, ""
			return v, nil
		}
		v.Folder, v.Generic = folders.Processed, true
		return d.withGenericReply(ctx, v, msg, who, msgID, now)
	}
	return d.entitlement(ctx, v, msg, who, msgID, now)
}

// identify authenticates the sender, checks that the message asks for an
// attestation and establishes who asks. done is set when the verdict is
// reached already (unverified sender, not a request for an attestation).
func (d *Decider) identify(ctx context.Context, raw []byte, msg *inbox.Message, now time.Time) (v queue.Verdict, who identity.Identity, done bool, err error) {
	folders := d.cfg.IMAP.Folders
	from := msg.From
	ch := d.ident.ChannelOf(from)
	var mustSign []string
	if ch == identity.ChannelGateway {
		mustSign = []string{d.cfg.Trust.Gateway.Header}
	}
	auth := d.auth.Check(raw, from, mustSign)
	reading := request.ReadMessage(msg, &request.ReadOptions{Today: d.today(now)})
	v = queue.Verdict{Channel: ch}
	if !auth.Pass {
		v.Outcome, v.Folder, v.Detail = rules.SenderUnverified, folders.Manual, "authentication failed: "+auth.Reason
		return v, who, true, nil
	}
	if reading.OtherDocument || !reading.Attestation {
		v.Outcome, v.Folder = rules.NotAttestation, folders.Manual
		return v, who, true, nil
	}
	as := identity.Assertions{
		From: from, Authenticated: auth.Pass, NIRs: reading.NIRs,
		AuthorNIR: reading.Author.NIR, AuthorBirth: reading.Author.Birth, AuthorNames: reading.Author.FirstNames,
	}
	if ch == identity.ChannelGateway {
		as.GatewayNIRs = msg.Header.Values(d.cfg.Trust.Gateway.Header)
	}
	who, err = d.ident.Identify(ctx, as)
	return v, who, false, err
}

// entitlement decides the request of an identified compte by the rules
// and gives the verdict with its reply.
func (d *Decider) entitlement(ctx context.Context, v queue.Verdict, msg *inbox.Message, who identity.Identity, msgID string, now time.Time) (queue.Verdict, error) {
	v.CompteID = who.Compte.ID
	today := d.today(now)
	req := request.ReadMessage(msg, &request.ReadOptions{Known: firstNames(who.Compte), Today: today}).Request
	if !req.Family && len(req.Targets) == 0 {
		for _, b := range who.Named {
			req.Targets = append(req.Targets, rules.Target{FirstName: b.Prenom, Birth: b.DateNaissance})
		}
	}
	return d.answer(ctx, v, msg, who, rules.Decide(who.Compte, req, today), msgID, now, today)
}

// issuedAt is the moment of issue an attestation prints: now, on the day
// the rules ran at (a fixed --today moves it), so that the document, its
// metadata and its file name carry the date the rules checked (SPEC
// section 6).
func issuedAt(now time.Time, today rules.Date) time.Time {
	return time.Date(today.Year, today.Month, today.Day, now.Hour(), now.Minute(), now.Second(), now.Nanosecond(), now.Location())
}

// answer gives the verdict and reply of a decision on a known compte. An
// attestation is reserved under the compte's daily limit before its PDF is
// rendered, so that a request over the limit costs no PDF (SPEC section 7);
// the reservation is released when anything after it fails, and recording
// the verdict consumes it (or the queue releases it when that fails).
func (d *Decider) answer(ctx context.Context, v queue.Verdict, msg *inbox.Message, who identity.Identity, dec rules.Decision, msgID string, now time.Time, today rules.Date) (queue.Verdict, error) {
	v.Outcome, v.Folder = dec.Outcome, d.cfg.IMAP.Folders.Processed
	if dec.Outcome != rules.Issued {
		return d.withPersonalReply(v, msg, who, dec, nil, now)
	}
	release, ok, err := d.reserve(ctx, store.Reservation{Holder: msgID, CompteID: who.Compte.ID,
		Limit: d.cfg.Limits.AttestationsPerComptePerDay}, now)
	if err != nil {
		return queue.Verdict{}, fmt.Errorf("rate limit: %w", err)
	}
	if !ok {
		return d.overLimit(v, msg, who, now, today)
	}
	doc, err := d.pdf.Render(attestation.AttestationInput{Compte: who.Compte, Decision: dec, Reference: v.Reference, IssuedAt: issuedAt(now, today)})
	if err != nil {
		release()
		return queue.Verdict{}, fmt.Errorf("render the attestation: %w", err)
	}
	d.obs.AttestationRendered()
	att := &outbox.Attachment{Name: doc.FileName, ContentType: "application/pdf", Data: doc.Bytes}
	if v, err = d.withPersonalReply(v, msg, who, dec, att, now); err != nil {
		release()
		return queue.Verdict{}, err
	}
	v.Release = release
	return v, nil
}

// limited returns v with a reservation under the rate limit r, or a
// suppressed verdict when the limit is reached (SPEC section 7).
func (d *Decider) limited(ctx context.Context, v queue.Verdict, r store.Reservation, why string, now time.Time) (queue.Verdict, error) {
	release, ok, err := d.reserve(ctx, r, now)
	if err != nil {
		return queue.Verdict{}, fmt.Errorf("rate limit: %w", err)
	}
	if !ok {
		return queue.Verdict{Outcome: rules.Suppressed, Folder: d.cfg.IMAP.Folders.Processed, Channel: v.Channel, Detail: why}, nil
	}
	v.Release = release
	return v, nil
}

func firstNames(c *rules.Compte) []string {
	names := make([]string, len(c.Beneficiaries))
	for i, b := range c.Beneficiaries {
		names[i] = b.Prenom
	}
	return names
}

// suppression returns why no reply may go to this message (SPEC section 7),
// or "".
func (d *Decider) suppression(m *inbox.Message) string {
	h := m.Header
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && v != "no" {
		return "auto-submitted"
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Precedence"))) {
	case "bulk", "junk", "list":
		return "precedence"
	}
	for _, k := range []string{"List-Id", "List-Unsubscribe", "List-Post", "List-Help", "List-Owner", "List-Archive", "List-Subscribe"} {
		if h.Get(k) != "" {
			return "mailing list"
		}
	}
	if rp := strings.TrimSpace(h.Get("Return-Path")); rp == "<>" {
		return "empty return path"
	}
	local := strings.ToLower(m.From)
	if i := strings.LastIndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	if local == "" || local == "mailer-daemon" || local == "postmaster" {
		return "delivery system sender"
	}
	if m.Report {
		return "delivery report"
	}
	if h.Get(outbox.LoopHeader) != "" {
		return "own loop marker"
	}
	for _, own := range d.own {
		if strings.EqualFold(m.From, own) {
			return "own mail"
		}
	}
	return ""
}
