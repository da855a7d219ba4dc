package inbox

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Hostile and broken messages (SPEC section 9): each ends in a clear error
// or in a readable result within the limits.

const hdr = "From: Eva Dupont <Eva.Dupont@Example.org>\r\nTo: attestation@cpam.example\r\n" +
	"Subject: attestation de droits\r\nMessage-ID: <h-1@example.org>\r\nMIME-Version: 1.0\r\n"

func parseString(t *testing.T, raw string, lim Limits) *Message {
	t.Helper()
	m, err := ParseMessage([]byte(raw), lim)
	if err != nil {
		t.Fatalf("ParseMessage: %v", err)
	}
	return m
}

func hasWarning(m *Message, part string) bool {
	for _, w := range m.Warnings {
		if strings.Contains(w, part) {
			return true
		}
	}
	return false
}

func TestParseTooLarge(t *testing.T) {
	raw := hdr + "\r\n" + strings.Repeat("a", 2000)
	m, err := ParseMessage([]byte(raw), Limits{MaxMessageBytes: 1000})
	if !errors.Is(err, ErrTooLarge) || m != nil {
		t.Fatalf("got %v, %v; want ErrTooLarge and no message", m, err)
	}
	big := make([]byte, DefaultLimits().MaxMessageBytes+1)
	copy(big, hdr+"\r\n")
	if _, err := ParseMessage(big, DefaultLimits()); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("10 MiB + 1: got %v, want ErrTooLarge", err)
	}
}

// nestedMultiparts returns n multiparts nested in each other, the innermost
// holding a text part.
func nestedMultiparts(n int, inner string) string {
	body := "Content-Type: text/plain\r\n\r\n" + inner + "\r\n"
	for i := n; i > 0; i-- {
		b := fmt.Sprintf("n%d", i)
		body = fmt.Sprintf("Content-Type: multipart/mixed; boundary=%q\r\n\r\n--%s\r\n%s\r\n--%s--\r\n", b, b, body, b)
	}
	return body
}

func TestParseNestedMultiparts(t *testing.T) {
	raw := hdr + "Content-Type: multipart/mixed; boundary=top\r\n\r\n--top\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nattestation de droits pour Léa\r\n--top\r\n" +
		nestedMultiparts(1000, "too deep to be read") + "\r\n--top--\r\n"
	m := parseString(t, raw, DefaultLimits())
	if m.Text != "attestation de droits pour Léa" {
		t.Errorf("Text = %q, want the first part only", m.Text)
	}
	if !m.Truncated || !hasWarning(m, "nested deeper than 20") {
		t.Errorf("Truncated %v, warnings %q: want the depth limit reported", m.Truncated, m.Warnings)
	}
	// Within the limit, the innermost text is read.
	m = parseString(t, hdr+nestedMultiparts(10, "attestation de droits"), DefaultLimits())
	if m.Text != "attestation de droits" || m.Truncated {
		t.Errorf("10 levels: Text %q, truncated %v", m.Text, m.Truncated)
	}
}

func TestParseManyParts(t *testing.T) {
	var b strings.Builder
	b.WriteString(hdr + "Content-Type: multipart/mixed; boundary=p\r\n\r\n")
	for i := range 10000 {
		fmt.Fprintf(&b, "--p\r\nContent-Type: text/plain\r\n\r\npart %d\r\n", i)
	}
	b.WriteString("--p--\r\n")
	m := parseString(t, b.String(), DefaultLimits())
	if !m.Truncated || !hasWarning(m, "more than 200 MIME parts") {
		t.Errorf("Truncated %v, warnings %q: want the part limit reported", m.Truncated, m.Warnings)
	}
	if !strings.HasPrefix(m.Text, "part 0\n\npart 1") || strings.Contains(m.Text, "part 199") {
		t.Errorf("Text holds %d bytes from %q: want the first 199 parts", len(m.Text), m.Text[:20])
	}
}

func TestParseLongLine(t *testing.T) {
	line := strings.Repeat("attestation ", 5<<20/12)
	m := parseString(t, hdr+"Content-Type: text/plain\r\n\r\n"+line+"\r\n", DefaultLimits())
	if !m.Truncated || len(m.Text) > DefaultLimits().MaxTextBytes || !strings.HasPrefix(m.Text, "attestation attestation") {
		t.Errorf("5 MB line: truncated %v, %d bytes of text", m.Truncated, len(m.Text))
	}
	// In a multipart, and in the subject.
	raw := "From: a@example.org\r\nSubject: " + strings.Repeat("x", 1<<20) + "\r\n" +
		"Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\nContent-Type: text/plain\r\n\r\n" + line + "\r\n--z--\r\n"
	m = parseString(t, raw, DefaultLimits())
	if len([]rune(m.Subject)) > maxSubjectRunes || !m.Truncated {
		t.Errorf("subject of %d runes, truncated %v", len([]rune(m.Subject)), m.Truncated)
	}
}

func TestParseNUL(t *testing.T) {
	raw := hdr + "Content-Type: text/plain\r\n\r\natte\x00station de droits\x00 pour L\x00éa\r\n"
	m := parseString(t, raw, DefaultLimits())
	if strings.ContainsRune(m.Text, 0) || m.Text != "attestation de droits pour Léa" {
		t.Errorf("Text = %q, want the NUL bytes dropped", m.Text)
	}
}

func TestParseUnknownCharset(t *testing.T) {
	raw := hdr + "Content-Type: text/plain; charset=x-klingon\r\n\r\nattestation de droits pour L\xe9a\r\n"
	m := parseString(t, raw, DefaultLimits())
	if m.Text != "attestation de droits pour Léa" {
		t.Errorf("Text = %q, want a best-effort decoding", m.Text)
	}
	if !hasWarning(m, `unknown charset "x-klingon"`) {
		t.Errorf("warnings %q: want the unknown charset named", m.Warnings)
	}
	// Known charsets decode exactly.
	for cs, body := range map[string]string{"iso-8859-15": "L\xe9a \xa4", "windows-1252": "L\xe9a \x80", "ISO-8859-1": "L\xe9a"} {
		m := parseString(t, hdr+"Content-Type: text/plain; charset="+cs+"\r\n\r\n"+body+"\r\n", DefaultLimits())
		if !strings.HasPrefix(m.Text, "Léa") || strings.HasSuffix(body, "\xa4") && !strings.HasSuffix(m.Text, "€") ||
			len(m.Warnings) > 0 {
			t.Errorf("%s: Text %q, warnings %q", cs, m.Text, m.Warnings)
		}
	}
}

func TestParseInvalidBase64(t *testing.T) {
	// "attestation de droits" in base64, with garbage inside and a cut end.
	raw := hdr + "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"YXR0ZXN0YXRp!!b24g\r\nZGUgZHJvaXRz*\r\nIHBvdXIgTMOp"
	m := parseString(t, raw, DefaultLimits())
	if !strings.HasPrefix(m.Text, "attestation de droits pour L") {
		t.Errorf("Text = %q, want what could be decoded", m.Text)
	}
	if !hasWarning(m, "invalid base64") {
		t.Errorf("warnings %q: want the bad base64 reported", m.Warnings)
	}
}

func TestParseInvalidQuotedPrintable(t *testing.T) {
	raw := hdr + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"attestation de droits pour L=C3=A9a =ZZ 100=\r\n% =3"
	m := parseString(t, raw, DefaultLimits())
	if m.Text != "attestation de droits pour Léa =ZZ 100% =3" {
		t.Errorf("Text = %q", m.Text)
	}
	if !hasWarning(m, "invalid quoted-printable") {
		t.Errorf("warnings %q: want the bad quoted-printable reported", m.Warnings)
	}
}

func TestParseSubjectCRLF(t *testing.T) {
	raw := "From: a@example.org\r\nSubject: =?utf-8?q?attestation=0D=0ABcc:_x@evil.example?=\r\n\r\nbonjour\r\n"
	m := parseString(t, raw, DefaultLimits())
	if strings.ContainsAny(m.Subject, "\r\n") || m.Subject != "attestation Bcc: x@evil.example" {
		t.Errorf("Subject = %q, want one line", m.Subject)
	}
	raw = "From: a@example.org\r\nSubject: attestation\r\n de\tdroits\x00\r\n\r\nbonjour\r\n"
	if m := parseString(t, raw, DefaultLimits()); m.Subject != "attestation de droits" {
		t.Errorf("folded subject = %q", m.Subject)
	}
}

func TestParseNoMessageID(t *testing.T) {
	m := parseString(t, "From: a@example.org\r\nSubject: attestation\r\n\r\nbonjour\r\n", DefaultLimits())
	if m.MessageID != "" || m.Text != "bonjour" {
		t.Errorf("MessageID %q, Text %q", m.MessageID, m.Text)
	}
}

func TestParseLooseHeaders(t *testing.T) {
	raw := "From: \"Dupont, Eva\" <EVA.DUPONT@example.org\r\nReply-To: autre@example.org, x\r\n" +
		"Message-ID: not an id\r\nReferences: <a@x> junk <b@y>\r\nDate: hier\r\nSubject: s\r\n\r\nbonjour\r\n"
	m := parseString(t, raw, DefaultLimits())
	if m.From != "eva.dupont@example.org" {
		t.Errorf("From = %q, want the address found in a broken field", m.From)
	}
	if m.MessageID != "notanid" {
		t.Errorf("MessageID = %q", m.MessageID)
	}
	if strings.Join(m.References, " ") != "a@x b@y" {
		t.Errorf("References = %q", m.References)
	}
	if !m.Date.IsZero() || !hasWarning(m, "Date") {
		t.Errorf("Date %v, warnings %q", m.Date, m.Warnings)
	}
}

func TestParseUnreadable(t *testing.T) {
	for name, raw := range map[string]string{
		"binary":        "\x00\x01\x02\xff\xfe garbage without header",
		"empty":         "",
		"no text":       "From: a@example.org\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n",
		"blank subject": "From: a@example.org\r\nSubject:   \r\n\r\n  \r\n\r\n",
	} {
		m, err := ParseMessage([]byte(raw), DefaultLimits())
		if !errors.Is(err, ErrUnreadable) {
			t.Errorf("%s: got %v, want ErrUnreadable", name, err)
		}
		if m == nil {
			t.Errorf("%s: want the headers read so far with ErrUnreadable", name)
		}
	}
	// A subject alone is enough to read.
	if _, err := ParseMessage([]byte("From: a@example.org\r\nSubject: attestation de droits\r\n\r\n"), DefaultLimits()); err != nil {
		t.Errorf("subject only: %v", err)
	}
}

func TestParseBrokenMultipart(t *testing.T) {
	// No closing boundary, a part without header end, no boundary at all.
	raw := hdr + "Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Type: text/plain\r\n\r\nattestation de droits\r\n--q\r\nContent-Type: text/plain\r\n"
	m := parseString(t, raw, DefaultLimits())
	if m.Text != "attestation de droits" {
		t.Errorf("Text = %q, want the parts read before the break", m.Text)
	}
	// A Content-Type that does not parse still gives its charset.
	m = parseString(t, hdr+"Content-Type: text/plain; CHARSET=iso-8859-1; bad\r\n\r\nL\xe9a\r\n", DefaultLimits())
	if m.Text != "Léa" {
		t.Errorf("Text = %q, want the charset of a malformed Content-Type", m.Text)
	}
	m = parseString(t, hdr+"Content-Type: multipart/mixed\r\n\r\nbody\r\n", DefaultLimits())
	if !hasWarning(m, "without a boundary") {
		t.Errorf("warnings %q", m.Warnings)
	}
}

func TestParseAlternativePrefersPlain(t *testing.T) {
	raw := hdr + "Content-Type: multipart/alternative; boundary=a\r\n\r\n" +
		"--a\r\nContent-Type: text/html\r\n\r\n<p>version <b>HTML</b></p>\r\n" +
		"--a\r\nContent-Type: text/plain\r\n\r\nversion texte\r\n--a--\r\n"
	if m := parseString(t, raw, DefaultLimits()); m.Text != "version texte" {
		t.Errorf("Text = %q, want the plain alternative", m.Text)
	}
	// An empty plain alternative gives way to the HTML one.
	raw = hdr + "Content-Type: multipart/alternative; boundary=a\r\n\r\n" +
		"--a\r\nContent-Type: text/plain\r\n\r\n \r\n" +
		"--a\r\nContent-Type: multipart/related; boundary=r\r\n\r\n--r\r\nContent-Type: text/html\r\n\r\n<div>version&nbsp;HTML</div>\r\n--r--\r\n--a--\r\n"
	if m := parseString(t, raw, DefaultLimits()); m.Text != "version HTML" {
		t.Errorf("Text = %q, want the HTML alternative", m.Text)
	}
}

func TestParseAttachmentsAreNotText(t *testing.T) {
	raw := hdr + "Content-Type: multipart/mixed; boundary=m\r\n\r\n" +
		"--m\r\nContent-Type: text/plain\r\n\r\nattestation pour Léa\r\n" +
		"--m\r\nContent-Type: text/plain; name=notes.txt\r\nContent-Disposition: attachment; filename=notes.txt\r\n\r\ntoute la famille\r\n" +
		"--m\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\r\n--m--\r\n"
	if m := parseString(t, raw, DefaultLimits()); m.Text != "attestation pour Léa" {
		t.Errorf("Text = %q, want the attached file left out", m.Text)
	}
}

func TestParseForwardDepth(t *testing.T) {
	inner := "From: c@example.org\r\nSubject: niveau 3\r\n\r\ntrop loin\r\n"
	for i := 2; i >= 1; i-- {
		inner = fmt.Sprintf("From: f%d@example.org\r\nSubject: niveau %d\r\nContent-Type: multipart/mixed; boundary=f%d\r\n\r\n"+
			"--f%d\r\nContent-Type: text/plain\r\n\r\ntexte %d\r\n--f%d\r\nContent-Type: message/rfc822\r\n\r\n%s\r\n--f%d--\r\n", i, i, i, i, i, i, inner, i)
	}
	raw := hdr + "Content-Type: multipart/mixed; boundary=f0\r\n\r\n--f0\r\nContent-Type: text/plain\r\n\r\ntexte 0\r\n" +
		"--f0\r\nContent-Type: message/rfc822\r\n\r\n" + inner + "\r\n--f0--\r\n"
	m := parseString(t, raw, Limits{MaxForwardDepth: 2})
	var got []string
	for _, f := range m.Forwarded {
		got = append(got, f.Subject+": "+f.Text)
	}
	if strings.Join(got, " | ") != "niveau 1: texte 1 | niveau 2: texte 2" || !m.Truncated {
		t.Errorf("Forwarded = %q, truncated %v: want two levels, the third cut", got, m.Truncated)
	}
}
