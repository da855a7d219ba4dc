package outbox

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// LoopHeader is attestd's own loop marker. Every reply carries it with the
// service domain as value; the inbox suppresses any message that carries it
// (SPEC section 7: "mail carrying its own loop marker").
const LoopHeader = "X-Attestd-Loop"

// Reply is everything a reply needs. It is plain data: the caller (the
// decision step) fills it, [Compose] renders it.
type Reply struct {
	// ID is a token unique to this reply (for example the attestation
	// reference). It is the local part of the reply's Message-ID,
	// <ID@MessageIDDomain>, so composing the same Reply twice gives the same
	// Message-ID. Letters, digits and ".-_+=" only.
	ID string
	// MessageIDDomain is the right-hand side of the Message-ID (config
	// service.domain). It is also the value of the loop marker.
	MessageIDDomain string
	// From is the service address.
	From string
	// To is the one recipient, already decided by identity (SPEC section 2;
	// never a Reply-To).
	To string
	// Subject is the ORIGINAL subject of the request, already decoded from
	// RFC 2047. Compose writes "Re: " + a sanitised copy (see [ReplySubject]).
	Subject string
	// InReplyTo is the request's Message-ID, without angle brackets. Empty
	// when the request had none.
	InReplyTo string
	// References are the request's References, without angle brackets.
	// Compose appends InReplyTo when it is not already last.
	References []string
	// Outcome is the value of the X-Attestation-Outcome header.
	Outcome string
	// Text and HTML are the two alternatives of the body. Text is required;
	// HTML may be empty.
	Text, HTML string
	// Attachment is the attestation PDF, nil for none.
	Attachment *Attachment
	// ExtraHeaders are added as is, e.g. X-Ameli-NIR for the gateway channel.
	// They may not replace a header that Compose sets itself.
	ExtraHeaders map[string]string
	// Date is the Date header. Required: Compose never reads the clock.
	Date time.Time
	// Signer, when not nil, signs the composed message (DKIM, see
	// [NewDKIMSigner]). A signature carries its signing time, so a signed
	// message is not byte-identical across calls.
	Signer Signer
}

// Attachment is a file attached to a reply.
type Attachment struct {
	// Name is the file name, printable ASCII without quotes, slashes or
	// backslashes (SPEC section 6: attestation-droits-PEIGNE-LEA-20261125.pdf).
	Name string
	// ContentType is the media type, "application/pdf" when empty.
	ContentType string
	// Data is the file content.
	Data []byte
}

// Signer signs a composed message and returns the signed message (for DKIM,
// the message with a DKIM-Signature header prepended).
type Signer func(raw []byte) ([]byte, error)

// Compose renders the complete RFC 5322 message for r, with CRLF line ends:
// multipart/alternative{text/plain, text/html} in a multipart/mixed with the
// attachment when there is one; UTF-8, quoted-printable text, base64
// attachment. It returns the message and its Message-ID without angle
// brackets. Compose is deterministic when r.Signer is nil.
func Compose(r Reply) (raw []byte, messageID string, err error) {
	if err := r.check(); err != nil {
		return nil, "", err
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(r.From); err != nil {
		return nil, "", fmt.Errorf("compose: From %q is not an address: %w", r.From, err)
	}
	if err := msg.To(r.To); err != nil {
		// The recipient stays out of the error: it is personal data.
		return nil, "", errors.New("compose: the recipient (To) is not a valid address")
	}
	messageID = r.ID + "@" + r.MessageIDDomain
	// SetMessageID would use the host name and a random token: never here.
	msg.SetMessageIDWithValue(messageID)
	msg.SetDateWithValue(r.Date)
	msg.Subject(ReplySubject(r.Subject))
	setThreadHeaders(msg, r.InReplyTo, r.References)
	setAutoReplyHeaders(msg, r.MessageIDDomain, r.Outcome)
	if err := setExtraHeaders(msg, r.ExtraHeaders); err != nil {
		return nil, "", err
	}

	msg.SetBodyString(gomail.TypeTextPlain, r.Text)
	if r.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
	}
	if a := r.Attachment; a != nil {
		ct := a.ContentType
		if ct == "" {
			ct = "application/pdf"
		}
		if err := msg.AttachReader(a.Name, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(ct))); err != nil {
			return nil, "", fmt.Errorf("compose: attaching the file: %w", err)
		}
	}

	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		return nil, "", fmt.Errorf("compose: rendering the message: %w", err)
	}
	raw = fixBoundaries(buf.Bytes())
	if r.Signer != nil {
		if raw, err = r.Signer(raw); err != nil {
			return nil, "", fmt.Errorf("compose: signing the message: %w", err)
		}
	}
	return raw, messageID, nil
}

// check refuses a Reply that would give a broken or ambiguous message.
func (r Reply) check() error {
	switch {
	case !isMsgIDPart(r.ID):
		return fmt.Errorf("compose: reply ID %q must be non-empty letters, digits and .-_+= only", r.ID)
	case !isMsgIDPart(r.MessageIDDomain):
		return fmt.Errorf("compose: Message-ID domain %q is not a domain name (set service.domain)", r.MessageIDDomain)
	case r.Date.IsZero():
		return errors.New("compose: reply Date is required (Compose does not read the clock)")
	case r.Text == "":
		return errors.New("compose: reply text is empty (the text template rendered nothing)")
	case !isHeaderValue(r.Outcome) || r.Outcome == "":
		return fmt.Errorf("compose: outcome %q must be one line of printable ASCII", r.Outcome)
	}
	if a := r.Attachment; a != nil {
		if !isFileName(a.Name) {
			return errors.New("compose: the attachment name must be printable ASCII without quotes or slashes")
		}
		if a.ContentType != "" && !isHeaderValue(a.ContentType) {
			return fmt.Errorf("compose: attachment content type %q is not one line of ASCII", a.ContentType)
		}
	}
	return nil
}
