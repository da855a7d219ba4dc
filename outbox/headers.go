package outbox

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	gomail "github.com/wneessen/go-mail"
)

const (
	// maxSubjectRunes bounds the original subject kept after "Re: ", so a
	// hostile subject cannot make a reply header of unbounded length.
	maxSubjectRunes = 180
	// maxReferences bounds References; the first (thread root) and the
	// latest ones are kept, as RFC 5322 section 3.6.4 allows.
	maxReferences = 20
	// maxMsgIDLen bounds one message identifier; longer ones are dropped.
	maxMsgIDLen = 250
	// emptySubject stands for a request without a subject.
	emptySubject = "(sans objet)"
)

// replyPrefix matches one leading reply marker: "Re:", "RE :", "re[2]:"
// (French mailers put a space before the colon).
var replyPrefix = regexp.MustCompile(`(?i)^re\s*(\[\d+\])?\s*:\s*`)

// ReplySubject returns the reply's subject for an original subject: "Re: "
// followed by the original with every control character (CR, LF, TAB...)
// turned into a space, white space collapsed, any leading "Re:" markers
// removed (so a reply to "Re: x" is "Re: x", not "Re: Re: x"), and cut to
// 180 characters. An empty original gives "Re: (sans objet)".
func ReplySubject(original string) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, original)
	s = strings.Join(strings.Fields(s), " ")
	for {
		loc := replyPrefix.FindStringIndex(s)
		if loc == nil {
			break
		}
		s = s[loc[1]:]
	}
	if runes := []rune(s); len(runes) > maxSubjectRunes {
		s = strings.TrimSpace(string(runes[:maxSubjectRunes-1])) + "…"
	}
	if s == "" {
		s = emptySubject
	}
	return "Re: " + s
}

// setThreadHeaders writes In-Reply-To and References (RFC 5322 section
// 3.6.4). Identifiers that are not printable ASCII without spaces or angle
// brackets are dropped rather than failing the reply: a request with a broken
// Message-ID still deserves an answer.
func setThreadHeaders(msg *gomail.Msg, inReplyTo string, references []string) {
	parent := trimMsgID(inReplyTo)
	if !isMsgID(parent) {
		parent = ""
	}
	seen := make(map[string]bool)
	var refs []string
	for _, ref := range append(append([]string(nil), references...), parent) {
		ref = trimMsgID(ref)
		if !isMsgID(ref) || seen[ref] {
			continue
		}
		seen[ref] = true
		refs = append(refs, ref)
	}
	if parent != "" && refs[len(refs)-1] != parent {
		// parent was seen earlier in References: it must come last.
		refs = append(removeString(refs, parent), parent)
	}
	if len(refs) > maxReferences {
		refs = append(refs[:1], refs[len(refs)-maxReferences+1:]...)
	}
	if parent != "" {
		msg.SetGenHeader(gomail.HeaderInReplyTo, "<"+parent+">")
	}
	if len(refs) > 0 {
		msg.SetGenHeader(gomail.HeaderReferences, "<"+strings.Join(refs, "> <")+">")
	}
}

// setAutoReplyHeaders marks the message as an automatic reply.
//
// Precedence is deliberately not set: it was never standardised, RFC 3834
// defines Auto-Submitted to replace it, and "Precedence: bulk" makes some
// providers file a personal answer as bulk mail.
func setAutoReplyHeaders(msg *gomail.Msg, domain, outcome string) {
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-replied") // RFC 3834 section 5
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")       // Exchange: no OOF about us
	msg.SetGenHeader(gomail.Header("X-Attestation-Outcome"), outcome) // SPEC section 7
	msg.SetGenHeader(gomail.Header(LoopHeader), domain)               // SPEC section 7
}

// isReserved reports the headers Compose sets itself, which ExtraHeaders
// may not replace.
func isReserved(name string) bool {
	switch strings.ToLower(name) {
	case "from", "to", "cc", "bcc", "reply-to", "sender", "subject", "date", "message-id",
		"in-reply-to", "references", "mime-version", "content-type", "content-transfer-encoding",
		"auto-submitted", "x-auto-response-suppress", "x-attestation-outcome",
		strings.ToLower(LoopHeader), "dkim-signature":
		return true
	}
	return false
}

// setExtraHeaders adds the caller's headers after checking that each one is
// a valid, non-reserved field with a one-line printable ASCII value.
func setExtraHeaders(msg *gomail.Msg, extra map[string]string) error {
	for name, value := range extra {
		if !isFieldName(name) {
			return fmt.Errorf("compose: extra header name %q is not a valid field name", name)
		}
		if isReserved(name) {
			return fmt.Errorf("compose: extra header %q would replace a header Compose sets itself", name)
		}
		if !isHeaderValue(value) {
			return fmt.Errorf("compose: extra header %s must be one line of printable ASCII", name)
		}
		msg.SetGenHeader(gomail.Header(name), value)
	}
	return nil
}

// trimMsgID removes white space and one pair of angle brackets.
func trimMsgID(id string) string {
	id = strings.TrimSpace(id)
	id = strings.TrimPrefix(id, "<")
	return strings.TrimSuffix(id, ">")
}

// isMsgID reports whether id (without brackets) can be written in a header
// as is: printable ASCII, no space, no angle bracket, bounded length.
func isMsgID(id string) bool {
	if id == "" || len(id) > maxMsgIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' || c == '<' || c == '>' {
			return false
		}
	}
	return true
}

// isMsgIDPart reports whether s is a safe local or domain part for our own
// Message-IDs: letters, digits and ".-_+=", not starting or ending with a dot.
func isMsgIDPart(s string) bool {
	if s == "" || len(s) > 128 || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-_+=", c)) {
			return false
		}
	}
	return true
}

// isHeaderValue reports whether v is one line of printable ASCII (space allowed).
func isHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' || c > '~' {
			return false
		}
	}
	return true
}

// isFieldName reports whether name is a header field name (RFC 5322 section
// 2.2: printable ASCII except colon).
func isFieldName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c > '~' || c == ':' {
			return false
		}
	}
	return true
}

// isFileName reports whether name is a safe attachment file name: printable
// ASCII without quotes, slashes or backslashes.
func isFileName(name string) bool {
	if name == "" || len(name) > 200 || !isHeaderValue(name) {
		return false
	}
	return !strings.ContainsAny(name, "\"\\/")
}

func removeString(list []string, s string) []string {
	out := list[:0:0]
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}
