package acceptance

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/cpam/attestd/internal/pdftext"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/samples"
	replies "github.com/cpam/attestd/templates/reply"
)

// observed is what a run saw of one case when it stopped waiting.
type observed struct {
	folder   string // where the original is, "" when nowhere
	inbox    string // the mailbox requests are delivered to
	filed    bool   // the original left the inbox for a folder
	replies  []Reply
	timedOut bool
	timeout  time.Duration
	lastErr  error // the last error met while looking, if any
}

// evaluate checks what was observed against the case and returns the
// outcome seen and the reasons of failure.
func evaluate(want samples.Case, o observed, p *privacy) (string, []string) {
	var fail []string
	failf := func(format string, args ...any) { fail = append(fail, fmt.Sprintf(format, args...)) }
	switch {
	case !o.filed && o.folder == o.inbox && o.folder != "":
		failf("original still in %s after %v: not handled", o.inbox, o.timeout)
	case !o.filed:
		failf("original found in no folder after %v", o.timeout)
	case o.folder != want.Folder:
		failf("original filed in %s, want %s", o.folder, want.Folder)
	}
	got := "no reply"
	if n := len(o.replies); n > 1 {
		got = fmt.Sprintf("%d replies", n)
	}
	if want.ReplyTo == nil {
		if len(o.replies) > 0 {
			out := headerOf(o.replies[0].Raw, "X-Attestation-Outcome")
			if len(o.replies) == 1 {
				got = out
			}
			failf("%d reply went out (%s), want none", len(o.replies), out)
		}
		return got, withLastErr(fail, o)
	}
	switch len(o.replies) {
	case 0:
		switch {
		case o.timedOut && o.filed:
			failf("no reply within %v (the original is in %s)", o.timeout, o.folder)
		case o.timedOut:
			failf("no reply within %v", o.timeout)
		}
		return got, withLastErr(fail, o)
	case 1:
	default:
		failf("%d replies, want exactly one", len(o.replies))
	}
	rp, err := readReply(o.replies[0])
	if err != nil {
		failf("reply unreadable: %v", err)
		return got, fail
	}
	if len(o.replies) == 1 {
		got = rp.outcome
	}
	return got, append(fail, checkReply(want, rp, p)...)
}

// withLastErr adds the last error met to the failures of a case that timed
// out: it may be why.
func withLastErr(fail []string, o observed) []string {
	if len(fail) > 0 && o.timedOut && o.lastErr != nil {
		fail = append(fail, "last error: "+o.lastErr.Error())
	}
	return fail
}

// checkReply checks one reply against its case.
func checkReply(want samples.Case, rp *reply, p *privacy) []string {
	var fail []string
	failf := func(format string, args ...any) { fail = append(fail, fmt.Sprintf(format, args...)) }
	if rp.outcome != want.Outcome {
		failf("outcome %s, want %s", orNone(rp.outcome), want.Outcome)
	}
	replyTo := strings.ToLower(*want.ReplyTo)
	if len(rp.to) != 1 || rp.to[0] != replyTo {
		failf("reply To %v, want %s", rp.to, replyTo)
	}
	if rp.recipients != nil && !slices.Equal(rp.recipients, []string{replyTo}) {
		failf("reply sent to %v, want %s only", rp.recipients, replyTo)
	}
	for _, name := range want.BodyLists {
		if !strings.Contains(rp.text, name) {
			failf("reply does not list %s", name)
		}
	}
	if want.Note != "" {
		fail = append(fail, checkNote(want.Note, rp.text)...)
	}
	if want.NoPersonalData {
		for _, leak := range p.leaks(rp) {
			failf("reply holds personal data: %s", leak)
		}
	}
	if want.Outcome != string(rules.Issued) {
		if len(rp.pdfs) > 0 {
			failf("%d PDF attached to a %s reply, want none", len(rp.pdfs), rp.outcome)
		}
		return fail
	}
	if len(rp.pdfs) != 1 {
		failf("%d PDF attached, want the attestation", len(rp.pdfs))
		return fail
	}
	sum, err := pdftext.ReadAttestation(rp.pdfs[0])
	if err != nil {
		failf("attestation PDF unreadable: %v", err)
		return fail
	}
	gotNames := sorted(sum.Beneficiaries)
	if wantNames := sorted(want.Beneficiaries); !slices.Equal(gotNames, wantNames) {
		failf("PDF lists %v, want %v", gotNames, wantNames)
	}
	for _, name := range gotNames {
		if g, w := sum.Mentions[name], want.Mentions[name]; !slices.Equal(g, w) {
			failf("PDF gives %s the mentions %v, want %v", name, g, w)
		}
	}
	return fail
}

// checkNote checks what a note of expected.json asks. The only note the
// format knows says that a mention could not be added: the reply must say
// so ("n'a pas pu"), naming the mentions the note names.
func checkNote(note, text string) []string {
	var fail []string
	if !strings.Contains(text, "n'a pas pu") {
		fail = append(fail, fmt.Sprintf("reply does not say what the note says (%q): no \"n'a pas pu\"", note))
	}
	for _, m := range []rules.Mention{rules.MentionETM, rules.MentionC2S} {
		if strings.Contains(note, string(m)) && !strings.Contains(text, replies.MentionLabel(m)) {
			fail = append(fail, fmt.Sprintf("reply does not name the mention %q of the note", replies.MentionLabel(m)))
		}
	}
	return fail
}

// reply is a reply read back.
type reply struct {
	outcome    string   // X-Attestation-Outcome
	to         []string // the To header's addresses, lower case
	recipients []string // the envelope as far as known, lower case; nil: unknown
	text, html string
	pdfs       [][]byte
}

func readReply(r Reply) (*reply, error) {
	mr, err := mail.CreateReader(bytes.NewReader(r.Raw))
	if err != nil {
		return nil, err
	}
	defer mr.Close()
	rp := &reply{outcome: mr.Header.Get("X-Attestation-Outcome")}
	to, err := mr.Header.AddressList("To")
	if err != nil {
		return nil, fmt.Errorf("To: %w", err)
	}
	for _, a := range to {
		rp.to = append(rp.to, strings.ToLower(a.Address))
	}
	for _, a := range r.Recipients {
		rp.recipients = append(rp.recipients, strings.ToLower(a))
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(part.Body)
		if err != nil {
			return nil, err
		}
		switch h := part.Header.(type) {
		case *mail.InlineHeader:
			ct, _, _ := h.ContentType()
			switch ct {
			case "text/html":
				rp.html += string(body)
			case "application/pdf":
				rp.pdfs = append(rp.pdfs, body)
			default:
				rp.text += string(body)
			}
		case *mail.AttachmentHeader:
			if ct, _, _ := h.ContentType(); ct == "application/pdf" || bytes.HasPrefix(body, []byte("%PDF-")) {
				rp.pdfs = append(rp.pdfs, body)
			}
		}
	}
	return rp, nil
}

// headerOf reads one header field of a raw message; "" when unreadable.
func headerOf(raw []byte, key string) string {
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	defer mr.Close()
	return mr.Header.Get(key)
}

func sorted(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
