// Package redact keeps personal data out of the log (SPEC section 2,
// STYLE): every e-mail address becomes a keyed pseudonym, every
// NIR-looking sequence is masked, in the message and the attributes of
// every log record that passes through [Redactor.Handler].
package redact

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"

	"github.com/cpam/attestd/rules"
)

// Personal data never reaches a log line in clear. The daemon's own log
// lines carry no name, NIR, address or date of birth; what it cannot write
// itself — error texts of the store, the IMAP server, the SMTP relay ("550
// <eva.dupont@example.org>: unknown user") — passes through the handler,
// which replaces every e-mail address with a keyed pseudonym and masks
// every NIR-looking sequence.

// pseudonym is a keyed hash of value (HMAC-SHA256, 12 hex digits): the same
// value gives the same pseudonym under one key, so an operator can tell
// that two log lines are about one address without reading it.
func pseudonym(key []byte, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))[:12]
}

// maskAddr writes an e-mail address as "addr:" and its pseudonym under key,
// compared without case.
func maskAddr(key []byte, addr string) string {
	return "addr:" + pseudonym(key, strings.ToLower(strings.TrimSpace(addr)))
}

// Free-text patterns. An address: a local part without spaces or
// delimiters, and a domain of at least two labels. A NIR: the sex digit,
// twelve more characters (the department may be 2A or 2B) and the key,
// separated by nothing, spaces, dots or dashes; no word boundary, so that
// "NIR:2930..." or "nir2930..." is masked too (a longer number is masked
// in part: hiding too much is the safe side).
var (
	addrPattern = regexp.MustCompile(`[^\s<>()\[\],;:"'@]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+`)
	nirPattern  = regexp.MustCompile(`[1-478](?:[ .-]?\d){4}[ .-]?(?:\d[ .-]?\d|2[ .-]?[ABab])(?:[ .-]?\d){6}(?:[ .-]?\d){0,2}`)
)

// Redactor hides personal data in free text: the service's own addresses
// stay readable, every other address becomes its pseudonym, every NIR is
// masked.
type Redactor struct {
	key  []byte
	keep []string // lower-cased addresses left in clear: the service's own
}

// New returns a Redactor that leaves the addresses keep in clear, with a
// fresh random key: pseudonyms hold for the life of the process only.
func New(keep ...string) (*Redactor, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("privacy: no random key for log pseudonyms: %w", err)
	}
	r := &Redactor{key: key}
	for _, a := range keep {
		if a = strings.ToLower(strings.TrimSpace(a)); a != "" {
			r.keep = append(r.keep, a)
		}
	}
	return r, nil
}

// Scrub returns s with its addresses pseudonymised and its NIRs masked.
func (r *Redactor) Scrub(s string) string {
	if strings.IndexByte(s, '@') >= 0 {
		s = addrPattern.ReplaceAllStringFunc(s, func(a string) string {
			if slices.Contains(r.keep, strings.ToLower(a)) {
				return a
			}
			return maskAddr(r.key, a)
		})
	}
	return nirPattern.ReplaceAllStringFunc(s, func(n string) string {
		if norm := rules.NormalizeNIR(n); len(norm) == 15 {
			return "NIR " + rules.MaskNIR(norm)
		}
		return "NIR ***"
	})
}

// Handler returns a slog.Handler that scrubs the message and every string,
// error and Stringer attribute of a record before passing it on to next.
func (r *Redactor) Handler(next slog.Handler) slog.Handler {
	return &handler{next: next, r: r}
}

// handler is the slog.Handler of Redactor.Handler.
type handler struct {
	next slog.Handler
	r    *Redactor
}

// Enabled reports whether the next handler takes records of level l.
func (h *handler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

// Handle scrubs rec and passes it on.
func (h *handler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.Scrub(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs scrubs attrs once and returns a handler that adds them.
func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.attr(a)
	}
	return &handler{next: h.next.WithAttrs(clean), r: h.r}
}

// WithGroup returns a handler that nests the next attributes in name.
func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{next: h.next.WithGroup(name), r: h.r}
}

func (h *handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.Scrub(v.String()))
	case slog.KindGroup:
		group := v.Group()
		clean := make([]slog.Attr, len(group))
		for i, g := range group {
			clean[i] = h.attr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(clean...)}
	case slog.KindAny:
		// Errors, Stringers and anything else that may hold text: its
		// printed form, scrubbed.
		return slog.String(a.Key, h.r.Scrub(fmt.Sprint(v.Any())))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// HideNIRs returns s with every NIR-looking sequence replaced by "***":
// for text that leaves the service, such as the subject a reply echoes.
func HideNIRs(s string) string { return nirPattern.ReplaceAllString(s, "***") }
