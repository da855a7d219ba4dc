package inbox

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"regexp"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// parser holds the state of one ParseMessage call: the limits and what they
// have used so far. Nothing is shared between messages.
type parser struct {
	lim     Limits
	parts   int
	stopped bool // MaxParts reached: read nothing more
	root    *Message
}

// chunk is the text of one text part, in reading order.
type chunk struct {
	text string
	html bool // converted from text/html
}

// content is what a MIME subtree holds for the reader.
type content struct {
	chunks []chunk
	fwds   []Forwarded
}

func (c *content) add(o content) {
	c.chunks = append(c.chunks, o.chunks...)
	c.fwds = append(c.fwds, o.fwds...)
}

func (c content) text() string {
	var parts []string
	for _, ch := range c.chunks {
		if t := strings.TrimSpace(ch.text); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, "\n\n")
}

func (c content) hasHTML() bool {
	for _, ch := range c.chunks {
		if ch.html {
			return true
		}
	}
	return false
}

// parseRoot reads the top-level message. ok is false when no header field
// could be read at all.
func (p *parser) parseRoot(raw []byte) (m *Message, ok bool) {
	br := bufio.NewReader(bytes.NewReader(raw))
	h, err := textproto.ReadHeader(br)
	m = &Message{Header: mail.Header{Header: message.Header{Header: h}}}
	p.root = m
	if err != nil {
		m.warnf("malformed header: %s", safeDetail(err))
	}
	if h.Len() == 0 {
		return m, false
	}
	p.fillHeaders(m)
	c := p.walk(h, br, 0, 0)
	own, inline := splitText(c.text(), p.lim.MaxForwardDepth, isForwardSubject(m.Subject))
	m.Text = own
	m.Forwarded = append(inline, c.fwds...)
	return m, true
}

// walk reads one entity (header h, undecoded body) at multipart depth depth
// and forward depth fwd.
func (p *parser) walk(h textproto.Header, body io.Reader, depth, fwd int) content {
	if p.stopped {
		return content{}
	}
	p.parts++
	if p.parts > p.lim.MaxParts {
		p.stopped = true
		p.limitHit("more than %d MIME parts: the rest is not read", p.lim.MaxParts)
		return content{}
	}
	mh := message.Header{Header: h}
	mediaType, params := contentType(mh)
	switch {
	case strings.HasPrefix(mediaType, "multipart/"):
		if mediaType == "multipart/report" {
			p.root.Report = p.root.Report || fwd == 0
		}
		return p.multipart(mediaType, params["boundary"], body, depth, fwd)
	case mediaType == "message/rfc822" || mediaType == "message/global":
		return p.forwarded(mh, body, depth, fwd)
	case mediaType != "text/plain" && mediaType != "text/html":
		return content{}
	}
	if disp, _, _ := mh.ContentDisposition(); strings.EqualFold(disp, "attachment") {
		return content{} // a text file attached is not the author's words
	}
	return content{chunks: []chunk{p.textPart(mh, mediaType, params["charset"], body)}}
}

func (p *parser) multipart(mediaType, boundary string, body io.Reader, depth, fwd int) content {
	if depth >= p.lim.MaxDepth {
		p.limitHit("MIME parts nested deeper than %d: the inner parts are not read", p.lim.MaxDepth)
		return content{}
	}
	if boundary == "" {
		p.root.warnf("%s without a boundary: its parts are not read", mediaType)
		return content{}
	}
	mr := textproto.NewMultipartReader(body, boundary)
	var alts []content
	var c content
	for !p.stopped {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			p.root.warnf("malformed %s: %s; the parts read so far are kept", mediaType, safeDetail(err))
			break
		}
		sub := p.walk(part.Header, part, depth+1, fwd)
		if mediaType == "multipart/alternative" {
			alts = append(alts, sub)
		} else {
			c.add(sub)
		}
	}
	if mediaType == "multipart/alternative" {
		return preferPlain(alts)
	}
	return c
}

// preferPlain picks among alternatives the first one with plain text, else
// the first one with any text.
func preferPlain(alts []content) content {
	for _, a := range alts {
		if !a.hasHTML() && a.text() != "" {
			return a
		}
	}
	for _, a := range alts {
		if a.text() != "" {
			return a
		}
	}
	if len(alts) > 0 {
		return alts[0]
	}
	return content{}
}

// forwarded reads a message/rfc822 part as a forwarded message.
func (p *parser) forwarded(mh message.Header, body io.Reader, depth, fwd int) content {
	if fwd >= p.lim.MaxForwardDepth || depth >= p.lim.MaxDepth {
		p.limitHit("forwarded messages nested deeper than %d: the inner one is not read", p.lim.MaxForwardDepth)
		return content{}
	}
	// A message/rfc822 part must not be transfer-encoded, but some are.
	if enc := mh.Get("Content-Transfer-Encoding"); enc != "" {
		raw, err := io.ReadAll(body)
		if err != nil {
			p.root.warnf("forwarded message cut short: %s", safeDetail(err))
		}
		dec, _, _ := decodeTransfer(enc, raw)
		body = bytes.NewReader(dec)
	}
	br := bufio.NewReader(body)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		p.root.warnf("malformed header in a forwarded message: %s", safeDetail(err))
	}
	fh := mail.Header{Header: message.Header{Header: h}}
	sub := p.walk(h, br, depth+1, fwd+1)
	subject := subjectOf(fh)
	own, inline := splitText(sub.text(), p.lim.MaxForwardDepth-fwd-1, isForwardSubject(subject))
	f := Forwarded{From: oneLine(decodeHeaderText(fh, "From"), 300), Subject: subject, Text: own}
	out := content{fwds: []Forwarded{f}}
	out.fwds = append(out.fwds, inline...)
	out.fwds = append(out.fwds, sub.fwds...)
	return out
}

// textPart reads, decodes and converts one text part within MaxTextBytes.
func (p *parser) textPart(mh message.Header, mediaType, charset string, body io.Reader) chunk {
	isHTML := mediaType == "text/html"
	textCap := p.lim.MaxTextBytes
	decodedCap := textCap
	if isHTML {
		decodedCap = 4 * textCap
	}
	rawCap := 3*decodedCap + 1024 // quoted-printable may triple the size
	raw, err := io.ReadAll(io.LimitReader(body, int64(rawCap)+1))
	if err != nil {
		p.root.warnf("%s part cut short: %s; the text read so far is kept", mediaType, safeDetail(err))
	}
	if len(raw) > rawCap {
		raw = raw[:rawCap]
		p.limitHit("a %s part is over the text limit: only its beginning is read", mediaType)
	}
	enc := mh.Get("Content-Transfer-Encoding")
	dec, clean, known := decodeTransfer(enc, raw)
	if !known {
		p.root.warnf("unknown transfer encoding %q: the part is read as it is", oneLine(enc, 40))
	} else if !clean {
		p.root.warnf("invalid %s in a %s part: decoded what could be", strings.ToLower(strings.TrimSpace(enc)), mediaType)
	}
	if len(dec) > decodedCap {
		dec = dec[:decodedCap]
		p.limitHit("a %s part is over the text limit: only its beginning is read", mediaType)
	}
	s, ok := decodeCharset(charset, dec)
	if !ok {
		p.root.warnf("unknown charset %q: decoded best effort", oneLine(charset, 40))
	}
	s = cleanText(s)
	if isHTML {
		s = htmlToText(s)
	}
	if len(s) > textCap {
		s = strings.ToValidUTF8(s[:textCap], "")
		p.limitHit("a %s part is over the text limit: only its beginning is read", mediaType)
	}
	return chunk{text: s, html: isHTML}
}

func (p *parser) limitHit(format string, args ...any) {
	p.root.Truncated = true
	p.root.warnf(format, args...)
}

var boundaryParam = regexp.MustCompile(`(?i)boundary\s*=\s*"?([^";\r\n]+)`)

// contentType returns the media type, lower-cased, and its parameters. A
// missing header means text/plain (RFC 2045 section 5.2); a malformed one
// is read as far as it can be.
func contentType(h message.Header) (string, map[string]string) {
	v := h.Get("Content-Type")
	if strings.TrimSpace(v) == "" {
		return "text/plain", map[string]string{}
	}
	t, params, err := mime.ParseMediaType(v)
	if err == nil {
		return t, params
	}
	t, _, _ = strings.Cut(v, ";")
	t = strings.ToLower(strings.TrimSpace(t))
	params = map[string]string{}
	if m := boundaryParam.FindStringSubmatch(v); m != nil {
		params["boundary"] = strings.TrimSpace(m[1])
	}
	if i := indexFold(v, "charset="); i >= 0 {
		cs := strings.Trim(v[i+len("charset="):], `"' `)
		cs, _, _ = strings.Cut(cs, ";")
		params["charset"] = strings.Trim(cs, `"' `)
	}
	if !strings.Contains(t, "/") {
		t = "text/plain"
	}
	return t, params
}

// safeDetail gives an error's text for a warning, on one line and short,
// without the line of the message that parser errors quote (it may hold
// personal data).
func safeDetail(err error) string {
	s := err.Error()
	for _, quote := range []string{"line:", "key:", "got line", "\""} {
		if i := strings.Index(s, quote); i >= 0 {
			s = strings.TrimSpace(s[:i+len(quote)]) + " [...]"
		}
	}
	return oneLine(s, 80)
}

// indexFold is strings.Index ignoring ASCII case, for a lower-case ASCII
// needle; linear in s.
func indexFold(s, needle string) int {
	n := len(needle)
	for i := 0; i+n <= len(s); i++ {
		if c := s[i] | 0x20; (c == needle[0] || s[i] == needle[0]) && strings.EqualFold(s[i:i+n], needle) {
			return i
		}
	}
	return -1
}
