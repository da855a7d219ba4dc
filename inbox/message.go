// Package inbox is mail in: the IMAP client that watches the service
// mailbox, and the parsing of each message into the author's own words.
//
// # Parsing a message
//
// ParseMessage turns a raw message into a Message: its headers, and the
// author's own words (quoted history and signature removed) with the
// messages he forwarded. It bounds its work by Limits and never fails on a
// broken part: what cannot be decoded is decoded best effort and noted in
// Message.Warnings. Package request then reads the French text: is it an
// attestation de droits request, for whom, with which mentions, and what
// does the author say about himself.
package inbox

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
)

// The two ways ParseMessage refuses a message. Both end in the rejected
// outcome (SPEC section 5): the original goes to quarantine, unanswered.
var (
	// ErrTooLarge: the message is over Limits.MaxMessageBytes.
	ErrTooLarge = errors.New("message over the size limit")
	// ErrUnreadable: no header, or neither a subject nor any text that
	// could be decoded.
	ErrUnreadable = errors.New("nothing readable in the message")
)

// Limits bound the work spent on one message (SPEC section 9). A limit that
// is reached stops the reading there: what was read so far is kept, and the
// message carries a warning and Truncated. A field left at zero takes its
// value from DefaultLimits.
type Limits struct {
	// MaxMessageBytes: larger messages are refused with ErrTooLarge.
	MaxMessageBytes int64
	// MaxDepth is how deep multiparts (and forwarded messages) may nest.
	MaxDepth int
	// MaxParts is how many MIME parts are looked at, all levels together.
	MaxParts int
	// MaxForwardDepth is how many forwarded messages may nest in each
	// other (message/rfc822 parts and inline "Message transféré" blocks).
	MaxForwardDepth int
	// MaxTextBytes is how much decoded text is kept from each text part;
	// an HTML part may be up to four times larger before its conversion.
	MaxTextBytes int
}

// DefaultLimits returns the limits of the default configuration: 10 MiB,
// 20 levels, 200 parts, 3 forwards, 64 KiB of text per part.
func DefaultLimits() Limits {
	return Limits{
		MaxMessageBytes: 10 << 20,
		MaxDepth:        20,
		MaxParts:        200,
		MaxForwardDepth: 3,
		MaxTextBytes:    64 << 10,
	}
}

// withDefaults fills the limits left at zero (or below) from DefaultLimits,
// so that a partly written configuration never means "no limit".
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = d.MaxMessageBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxParts <= 0 {
		l.MaxParts = d.MaxParts
	}
	if l.MaxForwardDepth <= 0 {
		l.MaxForwardDepth = d.MaxForwardDepth
	}
	if l.MaxTextBytes <= 0 {
		l.MaxTextBytes = d.MaxTextBytes
	}
	return l
}

// Message is a request as read from its MIME form: the headers the pipeline
// decides on, and the author's own words.
type Message struct {
	// From is the sender's address, lower-cased ("" when the header is
	// missing or holds no address); FromName its display name.
	From     string
	FromName string
	// ReplyTo are the Reply-To addresses, lower-cased. attestd never
	// replies to them (SPEC section 2); they are kept for the record.
	ReplyTo []string
	// Subject is decoded (RFC 2047) with CR, LF and other control
	// characters removed.
	Subject string
	// MessageID, InReplyTo and References are message identifiers without
	// their angle brackets.
	MessageID  string
	InReplyTo  string
	References []string
	// Date is the Date header; zero when missing or unreadable.
	Date time.Time
	// Header gives every raw header field: Authentication-Results,
	// Auto-Submitted, Precedence, List-*, Return-Path, X-Ameli-NIR...
	Header mail.Header
	// Report is set for a multipart/report (a bounce, a DSN, an MDN).
	Report bool
	// Text is the author's own words: quoted history and signature removed.
	Text string
	// Forwarded are the messages the author forwarded: message/rfc822
	// parts and inline "Message transféré" blocks, outermost first.
	Forwarded []Forwarded
	// Truncated is set when a limit stopped the reading before the end.
	Truncated bool
	// Warnings say what was read best effort or left out, for the
	// operator's log. They carry no personal data.
	Warnings []string
}

// Forwarded is a message forwarded inside a request.
type Forwarded struct {
	From    string // as written: an address or "Name <address>"
	Subject string
	Text    string // its author's own words
}

// AllText returns the author's text followed by the text of each forwarded
// message, separated by blank lines: everything the request may say.
func (m *Message) AllText() string {
	parts := []string{m.Text}
	for _, f := range m.Forwarded {
		parts = append(parts, f.Text)
	}
	return strings.TrimSpace(strings.Join(parts, "\n\n"))
}

func (m *Message) warnf(format string, args ...any) {
	const maxWarnings = 20
	switch {
	case len(m.Warnings) < maxWarnings:
		m.Warnings = append(m.Warnings, fmt.Sprintf(format, args...))
	case len(m.Warnings) == maxWarnings:
		m.Warnings = append(m.Warnings, "more warnings left out")
	}
}

// ParseMessage reads a raw RFC 5322 message within lim. It never fails on
// a broken part: unknown charsets, bad base64 or quoted-printable, missing
// boundaries are read best effort and noted in Warnings.
//
// It returns ErrTooLarge (and no message) when raw is over
// lim.MaxMessageBytes. It returns ErrUnreadable together with the message
// read so far (its headers, for the record) when there is no header at all,
// or neither a subject nor any text.
func ParseMessage(raw []byte, lim Limits) (*Message, error) {
	lim = lim.withDefaults()
	if int64(len(raw)) > lim.MaxMessageBytes {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d; raise limits.max_message_bytes to accept it",
			ErrTooLarge, len(raw), lim.MaxMessageBytes)
	}
	p := &parser{lim: lim}
	m, ok := p.parseRoot(raw)
	if !ok {
		return m, fmt.Errorf("%w: no header could be read", ErrUnreadable)
	}
	if m.Subject == "" && strings.TrimSpace(m.AllText()) == "" {
		return m, fmt.Errorf("%w: no subject and no text part that could be decoded", ErrUnreadable)
	}
	return m, nil
}
