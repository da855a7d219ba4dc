package decide

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cpam/attestd/identity"
	"github.com/cpam/attestd/inbox"
	"github.com/cpam/attestd/outbox"
	"github.com/cpam/attestd/queue"
	"github.com/cpam/attestd/redact"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
	"github.com/cpam/attestd/templates/reply"
)

// GiveUp is the verdict for a message of mailbox whose attempts ran out:
// the generic "n'a pas abouti" reply to its sender, the original to the
// manual folder. When even reading the message panics, it is the verdict
// without a reply.
func (d *Decider) GiveUp(mailbox string, raw []byte, msgID string, now time.Time) queue.Verdict {
	return d.forMailbox(mailbox).giveUp(raw, msgID, now)
}

func (d *Decider) giveUp(raw []byte, msgID string, now time.Time) (v queue.Verdict) {
	v = queue.Verdict{Outcome: rules.Failed, Folder: d.cfg.IMAP.Folders.Manual, Detail: "attempts exhausted"}
	defer func() {
		if r := recover(); r != nil {
			d.log.Error("panic while composing the failed reply; the message goes to the manual folder unanswered", "panic", fmt.Sprint(r))
			v = queue.Verdict{Outcome: rules.Failed, Folder: d.cfg.IMAP.Folders.Manual, Detail: "attempts exhausted, unreadable"}
		}
	}()
	msg, err := inbox.ParseMessage(raw, d.limits)
	if err != nil || d.suppression(msg) != "" || msg.From == "" {
		return v
	}
	v.ReplyTo = msg.From
	v.Reference = d.reference(msgID, now)
	body, err := d.replies.Generic(reply.GenericData{Outcome: v.Outcome, Reference: v.Reference, Service: d.service})
	if err != nil {
		return v
	}
	if v2, err := d.withReply(v, msg, identity.Identity{}, body, nil, now); err == nil {
		return v2
	}
	return v
}

// withGenericReply adds the reply that carries no personal data, unless the
// address already had its share of them today.
//
// The limit protects one person's mailbox; the gateway and the agents are
// authenticated CPAM systems answering for many insured persons, whose
// replies it does not hold back.
func (d *Decider) withGenericReply(ctx context.Context, v queue.Verdict, msg *inbox.Message, who identity.Identity, msgID string, now time.Time) (queue.Verdict, error) {
	body, err := d.replies.Generic(reply.GenericData{Outcome: v.Outcome, Reference: v.Reference,
		ByNIR: v.Channel != identity.ChannelDirect, Service: d.service})
	if err != nil {
		return queue.Verdict{}, fmt.Errorf("render the reply: %w", err)
	}
	if v, err = d.withReply(v, msg, who, body, nil, now); err != nil || v.Channel != identity.ChannelDirect {
		return v, err
	}
	return d.limited(ctx, v, store.Reservation{Holder: msgID, Address: v.ReplyTo, Limit: d.cfg.Limits.GenericRepliesPerAddressPerDay},
		"rate limit: generic replies per address", now)
}

func (d *Decider) withReply(v queue.Verdict, msg *inbox.Message, who identity.Identity, body reply.Body, att *outbox.Attachment, now time.Time) (queue.Verdict, error) {
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
		return queue.Verdict{}, fmt.Errorf("compose the reply: %w", err)
	}
	v.Reply = &store.OutboxMessage{From: d.cfg.Service.Address, To: []string{v.ReplyTo}, Raw: raw, MessageID: id}
	return v, nil
}

// withPersonalReply adds the reply that may speak of the compte, with the
// attestation when there is one.
func (d *Decider) withPersonalReply(v queue.Verdict, msg *inbox.Message, who identity.Identity, dec rules.Decision, att *outbox.Attachment, now time.Time) (queue.Verdict, error) {
	fileName := ""
	if att != nil {
		fileName = att.Name
	}
	body, err := d.replies.Personal(reply.NewPersonalData(who.Compte, dec, v.Reference, fileName, d.service))
	if err != nil {
		return queue.Verdict{}, fmt.Errorf("render the reply: %w", err)
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
func (d *Decider) overLimit(v queue.Verdict, msg *inbox.Message, who identity.Identity, now time.Time, today rules.Date) (queue.Verdict, error) {
	const why = "rate limit: attestations per compte"
	if v.Channel == identity.ChannelDirect {
		return queue.Verdict{Outcome: rules.Suppressed, Folder: v.Folder, Channel: v.Channel, Detail: why}, nil
	}
	v.Outcome, v.Generic, v.Detail = rules.LimitReached, true, why
	body, err := d.replies.Generic(reply.GenericData{Outcome: rules.LimitReached, Reference: v.Reference, ByNIR: true,
		RetryAfter: issuedAt(now, today).Add(24 * time.Hour), Service: d.service})
	if err != nil {
		return queue.Verdict{}, fmt.Errorf("render the reply: %w", err)
	}
	return d.withReply(v, msg, who, body, nil, now)
}

// replySubject is the subject a reply echoes: the request's, with its NIRs
// masked when the reply must carry no personal data (a NIR in the subject
// of a generic reply may be someone else's, or a typo of it).
func replySubject(v queue.Verdict, subject string) string {
	if !v.Generic && v.Outcome != rules.Failed {
		return subject
	}
	return redact.HideNIRs(subject)
}
