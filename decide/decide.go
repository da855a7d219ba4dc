package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cpam/attestd/inbox"
	"github.com/cpam/attestd/outbox"
	"github.com/cpam/attestd/request"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
	"github.com/cpam/attestd/templates/attestation"
	"github.com/cpam/attestd/templates/reply"
)

// verdict is the decision for one message, ready to be stored with its
// reply in one transaction.
type verdict struct {
	Outcome   rules.Outcome
	Folder    string
	Channel   Channel
	CompteID  string
	ReplyTo   string
	Generic   bool
	Reference string
	Reply     *store.OutboxMessage
	// Detail says why, for the operator's log line; never personal data.
	Detail string
	// release frees the rate-limit reservation this verdict holds, once
	// it is recorded; nil when it holds none.
	release func()
}

// reference is the attestation's unique reference, derived from the
// message's ledger key so that a decision redone after a crash gives the
// same one.
func reference(msgID string, today rules.Date) string {
	sum := sha256.Sum256([]byte(msgID))
	code := base32.StdEncoding.EncodeToString(sum[:])[:10]
	return "AD-" + today.Compact() + "-" + code
}

// decide reads one message and decides its outcome and reply. An error is an
// internal failure (the store unreachable): the message is retried.
func (d *Daemon) decide(ctx context.Context, raw []byte, msgID string, now time.Time) (v verdict, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic while deciding: %v", r)
		}
	}()
	folders := d.cfg.IMAP.Folders
	if raw == nil {
		return verdict{Outcome: rules.Rejected, Folder: folders.Quarantine, Detail: "over the size limit"}, nil
	}
	msg, err := inbox.ParseMessage(raw, d.limits)
	if err != nil {
		if errors.Is(err, inbox.ErrTooLarge) || errors.Is(err, inbox.ErrUnreadable) {
			return verdict{Outcome: rules.Rejected, Folder: folders.Quarantine, Detail: err.Error()}, nil
		}
		return verdict{}, err
	}
	if why := d.suppression(msg); why != "" {
		return verdict{Outcome: rules.Suppressed, Folder: folders.Processed, Detail: why}, nil
	}
	from := msg.From
	ch := d.ident.ChannelOf(from)
	var mustSign []string
	if ch == ChannelGateway {
		mustSign = []string{d.cfg.Trust.Gateway.Header}
	}
	auth := d.auth.Check(raw, from, mustSign)
	today := d.today(now)
	reading := request.ReadMessage(msg, &request.ReadOptions{Today: today})
	v = verdict{Channel: ch}
	if !auth.Pass {
		v.Outcome, v.Folder, v.Detail = rules.SenderUnverified, folders.Manual, "authentication failed: "+auth.Reason
		return v, nil
	}
	if reading.OtherDocument || !reading.Attestation {
		v.Outcome, v.Folder = rules.NotAttestation, folders.Manual
		return v, nil
	}
	claims := Claims{
		From: from, Authenticated: auth.Pass,
		AuthorNIR: reading.Author.NIR, AuthorBirth: reading.Author.Birth, AuthorNames: reading.Author.FirstNames,
	}
	if ch == ChannelGateway {
		claims.GatewayNIRs = msg.Header.Values(d.cfg.Trust.Gateway.Header)
	}
	for _, n := range reading.NIRs {
		claims.NIRs = append(claims.NIRs, FoundNIR{Normalized: n.Normalized, Valid: n.Valid})
	}
	who, err := d.ident.Identify(ctx, claims)
	if err != nil {
		return verdict{}, err
	}
	v.ReplyTo = who.ReplyTo
	v.Reference = reference(msgID, today)
	if who.Outcome != "" {
		v.Outcome = who.Outcome
		if who.Outcome == rules.SenderUnverified {
			v.Folder, v.ReplyTo = folders.Manual, ""
			return v, nil
		}
		v.Folder, v.Generic = folders.Processed, true
		return d.withGenericReply(ctx, v, msg, who, now)
	}
	v.CompteID = who.Compte.ID
	req := request.ReadMessage(msg, &request.ReadOptions{Known: firstNames(who.Compte), Today: today}).Request
	if !req.Family && len(req.Targets) == 0 {
		for _, b := range who.Named {
			req.Targets = append(req.Targets, rules.Target{FirstName: b.Prenom, Birth: b.DateNaissance})
		}
	}
	return d.answer(ctx, v, msg, who, rules.Decide(who.Compte, req, today), now, today)
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
// the reservation is released when anything after it fails, or by handle
// once the verdict is recorded.
func (d *Daemon) answer(ctx context.Context, v verdict, msg *inbox.Message, who Identity, dec rules.Decision, now time.Time, today rules.Date) (verdict, error) {
	v.Outcome, v.Folder = dec.Outcome, d.cfg.IMAP.Folders.Processed
	if dec.Outcome != rules.Issued {
		return d.withPersonalReply(v, msg, who, dec, nil, now)
	}
	compteID := who.Compte.ID
	release, ok, err := d.rate.reserve("compte:"+compteID, d.cfg.Limits.AttestationsPerComptePerDay,
		func() (int, error) { return d.store.CountIssuedSince(ctx, compteID, now.Add(-24*time.Hour)) })
	if err != nil {
		return verdict{}, fmt.Errorf("rate limit: %w", err)
	}
	if !ok {
		return d.overLimit(v, msg, who, now, today)
	}
	doc, err := d.pdf.Render(attestation.AttestationInput{Compte: who.Compte, Decision: dec, Reference: v.Reference, IssuedAt: issuedAt(now, today)})
	if err != nil {
		release()
		return verdict{}, fmt.Errorf("render the attestation: %w", err)
	}
	d.obs.AttestationRendered()
	att := &outbox.Attachment{Name: doc.FileName, ContentType: "application/pdf", Data: doc.Bytes}
	if v, err = d.withPersonalReply(v, msg, who, dec, att, now); err != nil {
		release()
		return verdict{}, err
	}
	v.release = release
	return v, nil
}

// withPersonalReply adds the reply that may speak of the compte, with the
// attestation when there is one.
func (d *Daemon) withPersonalReply(v verdict, msg *inbox.Message, who Identity, dec rules.Decision, att *outbox.Attachment, now time.Time) (verdict, error) {
	fileName := ""
	if att != nil {
		fileName = att.Name
	}
	body, err := d.replies.Personal(reply.NewPersonalData(who.Compte, dec, v.Reference, fileName, d.service))
	if err != nil {
		return verdict{}, fmt.Errorf("render the reply: %w", err)
	}
	return d.withReply(v, msg, who, body, att, now)
}

// overLimit is the verdict on an attestation beyond the compte's daily
// limit (SPEC section 7). On the direct channel it is suppressed, with no
// reply, as any rate limit. The gateway and the agents answer for the
// insured, who would otherwise wait in vain: they get limit_reached, a
// generic reply saying when a request will be answered again (24 hours
// from now at the latest, when the attestations counted now are all older
// than the window).
func (d *Daemon) overLimit(v verdict, msg *inbox.Message, who Identity, now time.Time, today rules.Date) (verdict, error) {
	const why = "rate limit: attestations per compte"
	if v.Channel == ChannelDirect {
		return verdict{Outcome: rules.Suppressed, Folder: v.Folder, Channel: v.Channel, Detail: why}, nil
	}
	v.Outcome, v.Generic, v.Detail = rules.LimitReached, true, why
	body, err := d.replies.Generic(reply.GenericData{Outcome: rules.LimitReached, Reference: v.Reference, ByNIR: true,
		RetryAfter: issuedAt(now, today).Add(24 * time.Hour), Service: d.service})
	if err != nil {
		return verdict{}, fmt.Errorf("render the reply: %w", err)
	}
	return d.withReply(v, msg, who, body, nil, now)
}

// limited returns v with a reservation under the rate limit of key, or a
// suppressed verdict when the limit is reached (SPEC section 7).
func (d *Daemon) limited(v verdict, key string, limit int, why string, count func() (int, error)) (verdict, error) {
	release, ok, err := d.rate.reserve(key, limit, count)
	if err != nil {
		return verdict{}, fmt.Errorf("rate limit: %w", err)
	}
	if !ok {
		return verdict{Outcome: rules.Suppressed, Folder: d.cfg.IMAP.Folders.Processed, Channel: v.Channel, Detail: why}, nil
	}
	v.release = release
	return v, nil
}

// withGenericReply adds the reply that carries no personal data, unless the
// address already had its share of them today.
//
// The limit protects one person's mailbox; the gateway and the agents are
// authenticated CPAM systems answering for many insured persons, whose
// replies it does not hold back.
func (d *Daemon) withGenericReply(ctx context.Context, v verdict, msg *inbox.Message, who Identity, now time.Time) (verdict, error) {
	body, err := d.replies.Generic(reply.GenericData{Outcome: v.Outcome, Reference: v.Reference,
		ByNIR: v.Channel != ChannelDirect, Service: d.service})
	if err != nil {
		return verdict{}, fmt.Errorf("render the reply: %w", err)
	}
	if v, err = d.withReply(v, msg, who, body, nil, now); err != nil || v.Channel != ChannelDirect {
		return v, err
	}
	addr := v.ReplyTo
	return d.limited(v, "generic:"+strings.ToLower(addr), d.cfg.Limits.GenericRepliesPerAddressPerDay, "rate limit: generic replies per address",
		func() (int, error) { return d.store.CountGenericSince(ctx, addr, now.Add(-24*time.Hour)) })
}

func (d *Daemon) withReply(v verdict, msg *inbox.Message, who Identity, body reply.Body, att *outbox.Attachment, now time.Time) (verdict, error) {
	refs := append([]string(nil), msg.References...)
	raw, id, err := outbox.Compose(outbox.Reply{
		ID:              strings.ToLower(v.Reference),
		MessageIDDomain: d.cfg.Service.Domain,
		From:            d.cfg.Service.Address,
		To:              v.ReplyTo,
		Subject:         replySubject(v, msg.Subject),
		InReplyTo:       msg.MessageID,
		References:      refs,
		Outcome:         string(v.Outcome),
		Text:            body.Text,
		HTML:            body.HTML,
		Attachment:      att,
		ExtraHeaders:    who.ReplyHeaders,
		Date:            now,
		Signer:          d.signer,
	})
	if err != nil {
		return verdict{}, fmt.Errorf("compose the reply: %w", err)
	}
	v.Reply = &store.OutboxMessage{From: d.cfg.Service.Address, To: []string{v.ReplyTo}, Raw: raw, MessageID: id}
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
func (d *Daemon) suppression(m *inbox.Message) string {
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
	if strings.EqualFold(m.From, d.cfg.Service.Address) {
		return "own mail"
	}
	return ""
}
