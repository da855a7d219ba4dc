package daemon_test

import (
	"bytes"
	"io"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/pdftext"
	"github.com/cpam/attestd/samples"
)

// reply is a reply the SMTP side received, read back.
type reply struct {
	to      []string
	header  mail.Header
	text    string
	html    string
	pdfName string
	pdf     []byte
	raw     []byte
}

func readReply(t testing.TB, m sentMail) reply {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(m.Raw))
	if err != nil {
		t.Fatalf("reply does not parse: %v", err)
	}
	out := reply{to: m.To, header: r.Header, raw: m.Raw}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reply part: %v", err)
		}
		body, _ := io.ReadAll(p.Body)
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			ct, _, _ := h.ContentType()
			if ct == "text/html" {
				out.html = string(body)
			} else {
				out.text = string(body)
			}
		case *mail.AttachmentHeader:
			out.pdfName, _ = h.Filename()
			out.pdf = body
		}
	}
	return out
}

// runSamples delivers every sample request to env and checks everything
// expected.json says of each, through the real protocols.
func runSamples(t *testing.T, env mailEnv) *running {
	exp := samples.ExpectedCases()
	reqs := samples.Requests()
	d := start(t, env, testConfig(t), daemon.Options{})
	byID := map[string]samples.Request{}
	for _, r := range reqs {
		byID[msgIDOf(t, r.Raw)] = r
		env.deliver(t, r.Raw)
	}
	results := d.collect(t, len(reqs), 60*time.Second)
	outcomes := map[string]daemon.Result{}
	for _, res := range results {
		req, ok := byID[res.MessageID]
		if !ok {
			t.Fatalf("result for an unknown message %q", res.MessageID)
		}
		if _, dup := outcomes[req.Name]; dup {
			t.Errorf("%s handled twice", req.Name)
		}
		outcomes[req.Name] = res
	}
	replies := map[string][]reply{}
	for _, m := range env.sent(t) {
		rp := readReply(t, m)
		id := strings.Trim(rp.header.Get("In-Reply-To"), "<>")
		req, ok := byID[id]
		if !ok {
			t.Errorf("a reply answers no request: In-Reply-To %q", id)
			continue
		}
		replies[req.Name] = append(replies[req.Name], rp)
	}
	folders := map[string][]string{}
	for _, f := range []string{"INBOX", "Processed", "Manual", "Quarantine"} {
		for _, raw := range env.folder(t, f) {
			folders[f] = append(folders[f], msgIDOf(t, raw))
		}
	}
	if len(folders["INBOX"]) != 0 {
		t.Errorf("INBOX still holds %d messages", len(folders["INBOX"]))
	}
	for _, r := range reqs {
		c, ok := exp.Cases[r.Name]
		if !ok {
			t.Errorf("%s: not in expected.json", r.Name)
			continue
		}
		t.Run(r.Name, func(t *testing.T) {
			checkCase(t, r, c, outcomes[r.Name], replies[r.Name], folders)
		})
	}
	return d
}

func checkCase(t *testing.T, req samples.Request, c samples.Case, res daemon.Result, rs []reply, folders map[string][]string) {
	id := msgIDOf(t, req.Raw)
	if string(res.Outcome) != c.Outcome {
		t.Errorf("outcome %s, want %s", res.Outcome, c.Outcome)
	}
	if !slices.Contains(folders[c.Folder], id) {
		t.Errorf("original not in %s (folders: %v)", c.Folder, whereIs(folders, id))
	}
	if c.ReplyTo == nil {
		if len(rs) != 0 {
			t.Fatalf("%d replies went out, want none", len(rs))
		}
		return
	}
	if len(rs) != 1 {
		t.Fatalf("%d replies, want exactly one", len(rs))
	}
	rp := rs[0]
	if !slices.Equal(rp.to, []string{*c.ReplyTo}) {
		t.Errorf("envelope recipients %v, want %s", rp.to, *c.ReplyTo)
	}
	if to, _ := rp.header.AddressList("To"); len(to) != 1 || to[0].Address != *c.ReplyTo {
		t.Errorf("To %v, want %s", to, *c.ReplyTo)
	}
	if got := rp.header.Get("X-Attestation-Outcome"); got != c.Outcome {
		t.Errorf("X-Attestation-Outcome %q, want %q", got, c.Outcome)
	}
	if got := rp.header.Get("In-Reply-To"); got != "<"+id+">" {
		t.Errorf("In-Reply-To %q", got)
	}
	if refs := rp.header.Get("References"); !strings.Contains(refs, "<"+id+">") {
		t.Errorf("References %q lacks the request", refs)
	}
	if s, _ := rp.header.Subject(); !strings.HasPrefix(s, "Re: ") || strings.ContainsAny(s, "\r\n") {
		t.Errorf("Subject %q", s)
	}
	if got := rp.header.Get("Auto-Submitted"); got != "auto-replied" {
		t.Errorf("Auto-Submitted %q", got)
	}
	if rp.header.Get("X-Auto-Response-Suppress") != "All" {
		t.Errorf("X-Auto-Response-Suppress missing")
	}
	if mid := rp.header.Get("Message-Id"); !strings.HasSuffix(mid, "@cpam.example>") {
		t.Errorf("Message-Id %q not on the service domain", mid)
	}
	if from, _ := rp.header.AddressList("From"); len(from) != 1 || from[0].Address != "attestation@cpam.example" {
		t.Errorf("From %v", from)
	}
	for _, name := range c.BodyLists {
		if !strings.Contains(rp.text, name) {
			t.Errorf("reply does not list %s:\n%s", name, rp.text)
		}
	}
	if c.Note != "" && !(strings.Contains(rp.text, "ticket modérateur") && strings.Contains(rp.text, "n'a pas pu")) {
		t.Errorf("reply does not say the ETM mention could not be added:\n%s", rp.text)
	}
	if c.Outcome != "issued" {
		if rp.pdf != nil {
			t.Errorf("a PDF went out with %s", c.Outcome)
		}
		return
	}
	if rp.pdf == nil {
		t.Fatal("no PDF attached")
	}
	if !strings.HasSuffix(rp.pdfName, ".pdf") || strings.IndexFunc(rp.pdfName, func(r rune) bool { return r > 127 }) >= 0 {
		t.Errorf("attachment name %q", rp.pdfName)
	}
	sum, err := pdftext.ReadAttestation(rp.pdf)
	if err != nil {
		t.Fatalf("read back the PDF: %v", err)
	}
	got := append([]string(nil), sum.Beneficiaries...)
	want := append([]string(nil), c.Beneficiaries...)
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("PDF lists %v, want %v", got, want)
	}
	for _, name := range c.Beneficiaries {
		if !slices.Equal(sum.Mentions[name], c.Mentions[name]) {
			t.Errorf("%s: PDF mentions %v, want %v", name, sum.Mentions[name], c.Mentions[name])
		}
	}
	if !strings.Contains(rp.text, res.Reference) || sum.Reference != res.Reference {
		t.Errorf("reference %q: in the PDF %q, and must be in the reply", res.Reference, sum.Reference)
	}
}

func whereIs(folders map[string][]string, id string) []string {
	var out []string
	for f, ids := range folders {
		if slices.Contains(ids, id) {
			out = append(out, f)
		}
	}
	return out
}

// TestSamples runs every sample of expected.json end to end through the
// in-process IMAP and SMTP servers.
func TestSamples(t *testing.T) {
	runSamples(t, newLocalEnv(t))
}
