package inbox

import (
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
)

// maxSubjectRunes bounds the subject kept: it is echoed in the reply's
// "Re: " subject and in the records.
const maxSubjectRunes = 1000

// fillHeaders reads the header fields the pipeline needs. A field that does
// not parse is read leniently or left empty, never fatal.
func (p *parser) fillHeaders(m *Message) {
	h := m.Header
	m.Subject = subjectOf(h)
	if from, name, ok := firstAddress(h, "From"); ok {
		m.From, m.FromName = from, name
	} else if h.Get("From") != "" {
		m.warnf("unreadable From header")
	}
	if list, err := h.AddressList("Reply-To"); err == nil {
		for _, a := range list {
			m.ReplyTo = append(m.ReplyTo, strings.ToLower(a.Address))
		}
	} else {
		m.ReplyTo = looseAddresses(h.Get("Reply-To"))
	}
	m.MessageID = msgIDs(h, "Message-Id", 1)
	m.InReplyTo = msgIDs(h, "In-Reply-To", 1)
	if refs := msgIDs(h, "References", 100); refs != "" {
		m.References = strings.Fields(refs)
	}
	if d, err := h.Date(); err == nil {
		m.Date = d
	} else {
		m.warnf("unreadable Date header")
	}
}

// subjectOf returns the decoded Subject on one line.
func subjectOf(h mail.Header) string {
	return oneLine(decodeHeaderText(h, "Subject"), maxSubjectRunes)
}

// decodeHeaderText decodes RFC 2047 encoded words of a field; raw 8-bit
// bytes that are not UTF-8 are read as windows-1252.
func decodeHeaderText(h mail.Header, key string) string {
	v := h.Get(key)
	if !utf8.ValidString(v) {
		v = bestEffort([]byte(v))
	}
	dec := mime.WordDecoder{CharsetReader: message.CharsetReader}
	s, err := dec.DecodeHeader(v)
	if err != nil {
		return v
	}
	return s
}

// firstAddress returns the first address of a field, lower-cased, and its
// display name. A field that does not parse is searched for something that
// looks like an address.
func firstAddress(h mail.Header, key string) (addr, name string, ok bool) {
	list, err := h.AddressList(key)
	if err == nil && len(list) > 0 {
		return strings.ToLower(list[0].Address), oneLine(list[0].Name, 200), true
	}
	loose := looseAddresses(h.Get(key))
	if len(loose) == 0 {
		return "", "", false
	}
	return loose[0], "", true
}

var looseAddress = regexp.MustCompile(`[^\s<>"(),;:]+@[^\s<>"(),;:]+\.[^\s<>"(),;:]+`)

// looseAddresses finds what looks like addresses in a field that is not
// valid RFC 5322.
func looseAddresses(v string) []string {
	var out []string
	for _, a := range looseAddress.FindAllString(v, 10) {
		out = append(out, strings.ToLower(strings.Trim(a, ".")))
	}
	return out
}

var angleID = regexp.MustCompile(`<([^<>\s]+)>`)

// msgIDs returns up to max message identifiers of a field, space separated,
// without angle brackets. Identifiers that do not parse strictly are taken
// between angle brackets, or as the bare word when there are none.
func msgIDs(h mail.Header, key string, max int) string {
	v := h.Get(key)
	if v == "" {
		return ""
	}
	ids, err := h.MsgIDList(key)
	if err != nil || len(ids) == 0 {
		ids = nil
		for _, m := range angleID.FindAllStringSubmatch(v, max) {
			ids = append(ids, m[1])
		}
		switch {
		case len(ids) > 0:
		case max == 1:
			ids = []string{strings.Join(strings.Fields(v), "")}
		default:
			ids = strings.Fields(v)
		}
	}
	switch {
	case len(ids) > max && max == 1:
		ids = ids[:1]
	case len(ids) > max:
		ids = ids[len(ids)-max:] // the most recent references are last
	}
	for i, id := range ids {
		ids[i] = oneLine(strings.Trim(id, "<> "), 250)
	}
	return strings.Join(ids, " ")
}
