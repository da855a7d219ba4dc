package outbox_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/cpam/attestd/outbox"
)

// fakePDF returns n deterministic bytes that start like a PDF.
func fakePDF(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	copy(b, "%PDF-1.7\n")
	return b
}

func sampleReply() outbox.Reply {
	return outbox.Reply{
		ID:              "ATT-20261125-0001",
		MessageIDDomain: "cpam.example",
		From:            "attestation@cpam.example",
		To:              "eva.martin@example.org",
		Subject:         "RE : Re: Demande d'attestation\r\nBcc: intrus@evil.example",
		InReplyTo:       "<req-1@example.org>",
		References:      []string{"<root@example.org>", "req-0@example.org"},
		Outcome:         "issued",
		Text:            "Bonjour Éva,\nvous trouverez votre attestation de droits à l'assurance maladie ci-jointe.\n",
		HTML:            "<p>Bonjour Éva,</p><p>vous trouverez votre attestation ci-jointe.</p>",
		Attachment:      &outbox.Attachment{Name: "attestation-droits-MARTIN-EVA-20261125.pdf", ContentType: "application/pdf", Data: fakePDF(60 << 10)},
		ExtraHeaders:    map[string]string{"X-Ameli-NIR": "290107511104250"},
		Date:            time.Date(2026, 11, 25, 9, 30, 0, 0, time.FixedZone("CET", 3600)),
	}
}

func mustCompose(t *testing.T, r outbox.Reply) ([]byte, string) {
	t.Helper()
	raw, id, err := outbox.Compose(r)
	if err != nil {
		t.Fatalf("Compose: %v", err)
	}
	return raw, id
}

func parse(t *testing.T, raw []byte) *mail.Reader {
	t.Helper()
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parsing the composed reply: %v", err)
	}
	return mr
}

func TestComposeHeaders(t *testing.T) {
	raw, id := mustCompose(t, sampleReply())
	if id != "ATT-20261125-0001@cpam.example" {
		t.Errorf("returned Message-ID = %q", id)
	}
	h := parse(t, raw).Header
	subject, err := h.Subject()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"From":                     "<attestation@cpam.example>",
		"To":                       "<eva.martin@example.org>",
		"Message-Id":               "<ATT-20261125-0001@cpam.example>",
		"In-Reply-To":              "<req-1@example.org>",
		"References":               "<root@example.org> <req-0@example.org> <req-1@example.org>",
		"Auto-Submitted":           "auto-replied",
		"X-Auto-Response-Suppress": "All",
		"X-Attestation-Outcome":    "issued",
		outbox.LoopHeader:          "cpam.example",
		"X-Ameli-Nir":              "290107511104250",
		"Date":                     "Wed, 25 Nov 2026 09:30:00 +0100",
		"Mime-Version":             "1.0",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if subject != "Re: Demande d'attestation Bcc: intrus@evil.example" {
		t.Errorf("Subject = %q: the CR/LF must become a space and Re: must not double", subject)
	}
	for _, k := range []string{"Bcc", "Reply-To", "Precedence", "Cc"} {
		if h.Has(k) {
			t.Errorf("unexpected header %s: %q", k, h.Get(k))
		}
	}
}

func TestComposeBodyAndAttachment(t *testing.T) {
	r := sampleReply()
	raw, _ := mustCompose(t, r)
	mr := parse(t, raw)
	if mt, _, _ := mr.Header.ContentType(); mt != "multipart/mixed" {
		t.Fatalf("top-level type %q, want multipart/mixed", mt)
	}
	var text, html string
	var pdf []byte
	var pdfName string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading parts: %v", err)
		}
		body, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			switch mt, params, _ := h.ContentType(); mt {
			case "text/plain":
				text = string(body)
				if !strings.EqualFold(params["charset"], "utf-8") || h.Get("Content-Transfer-Encoding") != "quoted-printable" {
					t.Errorf("text part: charset %q, encoding %q", params["charset"], h.Get("Content-Transfer-Encoding"))
				}
			case "text/html":
				html = string(body)
			}
		case *mail.AttachmentHeader:
			pdfName, _ = h.Filename()
			mt, _, _ := h.ContentType()
			if mt != "application/pdf" {
				t.Errorf("attachment type %q", mt)
			}
			pdf = body
		}
	}
	if text != strings.ReplaceAll(r.Text, "\n", "\r\n") {
		t.Errorf("text = %q, want %q", text, r.Text)
	}
	if html != r.HTML {
		t.Errorf("html = %q", html)
	}
	if pdfName != r.Attachment.Name {
		t.Errorf("attachment name %q", pdfName)
	}
	if !bytes.Equal(pdf, r.Attachment.Data) {
		t.Errorf("attachment decodes to %d bytes that differ from the %d given", len(pdf), len(r.Attachment.Data))
	}
}

func TestComposeWithoutAttachment(t *testing.T) {
	r := sampleReply()
	r.Attachment = nil
	r.Outcome = "address_missing"
	raw, _ := mustCompose(t, r)
	mr := parse(t, raw)
	if mt, _, _ := mr.Header.ContentType(); mt != "multipart/alternative" {
		t.Errorf("top-level type %q, want multipart/alternative", mt)
	}
	n := 0
	for {
		_, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("%d parts, want text and html", n)
	}
	if got := mr.Header.Get("X-Attestation-Outcome"); got != "address_missing" {
		t.Errorf("outcome %q", got)
	}
}

func TestComposeIsDeterministicAndWellFormed(t *testing.T) {
	a, _ := mustCompose(t, sampleReply())
	b, _ := mustCompose(t, sampleReply())
	if !bytes.Equal(a, b) {
		t.Error("the same Reply gave different bytes")
	}
	other := sampleReply()
	other.Text = "autre texte\n"
	c, _ := mustCompose(t, other)
	if boundaries(a)[0] == boundaries(c)[0] {
		t.Error("different content kept the same boundary: boundaries should follow the content")
	}
	if bs := boundaries(a); len(bs) != 2 || bs[0] == bs[1] {
		t.Errorf("boundaries %q: want two distinct ones (mixed and alternative)", bs)
	}
	if i := bytes.Index(bytes.ReplaceAll(a, []byte("\r\n"), nil), []byte("\n")); i >= 0 {
		t.Errorf("bare LF at %d: lines must end in CRLF", i)
	}
	for _, line := range bytes.Split(a, []byte("\r\n")) {
		if len(line) > 998 {
			t.Fatalf("line of %d bytes exceeds RFC 5322's 998", len(line))
		}
	}
}

func boundaries(raw []byte) []string {
	var out []string
	for _, line := range strings.Split(string(raw), "\r\n") {
		if b, ok := strings.CutPrefix(line, " boundary="); ok {
			out = append(out, b)
		}
	}
	return out
}

func TestComposeUTF8Subject(t *testing.T) {
	r := sampleReply()
	r.Subject = "Attestation de droits pour Léa et Chloé"
	raw, _ := mustCompose(t, r)
	if bytes.Contains(raw, []byte("Léa")) {
		t.Error("raw 8-bit UTF-8 in the header: it must be RFC 2047 encoded")
	}
	subject, err := parse(t, raw).Header.Subject()
	if err != nil || subject != "Re: Attestation de droits pour Léa et Chloé" {
		t.Errorf("Subject = %q, %v", subject, err)
	}
}

func TestReplySubject(t *testing.T) {
	long := strings.Repeat("é", 500)
	for _, tc := range []struct{ in, want string }{
		{"Demande d'attestation", "Re: Demande d'attestation"},
		{"Re: Demande", "Re: Demande"},
		{"RE : re:Re[2]: Demande", "Re: Demande"},
		{"TR: Demande", "Re: TR: Demande"},
		{"  Demande\r\n  d'attestation\t ", "Re: Demande d'attestation"},
		{"Demande\nBcc: x@y", "Re: Demande Bcc: x@y"},
		{"Reponse", "Re: Reponse"},
		{"", "Re: (sans objet)"},
		{"Re:", "Re: (sans objet)"},
		{"\x00\x1b[31m", "Re: [31m"},
	} {
		if got := outbox.ReplySubject(tc.in); got != tc.want {
			t.Errorf("ReplySubject(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	got := outbox.ReplySubject(long)
	if n := len([]rune(got)); n != len("Re: ")+180 || !strings.HasSuffix(got, "…") {
		t.Errorf("long subject kept %d runes (%q...)", n, got[:20])
	}
}

func TestComposeBoundsReferences(t *testing.T) {
	r := sampleReply()
	r.References = nil
	for i := 0; i < 100; i++ {
		r.References = append(r.References, fmt.Sprintf("ref%d@example.org", i))
	}
	r.References = append(r.References, "bad id@x", "<req-1@example.org>")
	raw, _ := mustCompose(t, r)
	refs := strings.Fields(parse(t, raw).Header.Get("References"))
	if len(refs) != 20 {
		t.Errorf("%d references, want at most 20", len(refs))
	}
	if refs[len(refs)-1] != "<req-1@example.org>" || refs[0] != "<"+r.References[0]+">" {
		t.Errorf("references must keep the root first and the parent last: %q ... %q", refs[0], refs[len(refs)-1])
	}
}

func TestComposeRefuses(t *testing.T) {
	for name, mutate := range map[string]func(*outbox.Reply){
		"no ID":              func(r *outbox.Reply) { r.ID = "" },
		"ID with @":          func(r *outbox.Reply) { r.ID = "a@b" },
		"no domain":          func(r *outbox.Reply) { r.MessageIDDomain = "" },
		"no date":            func(r *outbox.Reply) { r.Date = time.Time{} },
		"no text":            func(r *outbox.Reply) { r.Text = "" },
		"bad To":             func(r *outbox.Reply) { r.To = "not an address" },
		"outcome with CRLF":  func(r *outbox.Reply) { r.Outcome = "issued\r\nBcc: x@y" },
		"extra with CRLF":    func(r *outbox.Reply) { r.ExtraHeaders = map[string]string{"X-Ameli-NIR": "1\r\nBcc: x@y"} },
		"extra reserved":     func(r *outbox.Reply) { r.ExtraHeaders = map[string]string{"reply-to": "x@y"} },
		"extra bad name":     func(r *outbox.Reply) { r.ExtraHeaders = map[string]string{"X Bad": "1"} },
		"non-ASCII filename": func(r *outbox.Reply) { r.Attachment.Name = "attestation-LÉA.pdf" },
		"quote in filename":  func(r *outbox.Reply) { r.Attachment.Name = `a".pdf` },
	} {
		r := sampleReply()
		mutate(&r)
		if _, _, err := outbox.Compose(r); err == nil {
			t.Errorf("%s: Compose accepted it", name)
		}
	}
}
