// Package reply renders the texts attestd sends back: the reply (plain text
// and HTML) of each outcome. Package attestation, beside it, renders the PDF.
//
// Every outcome that gets a reply (SPEC section 5) has two templates under
// mail/, embedded in the binary: <outcome>.txt.tmpl (text/template) and
// <outcome>.html.tmpl (html/template), plus shared files whose names start
// with "_" (_common.txt.tmpl: greeting, contact, signature…) that define
// templates every reply can call. An operator can override any of them from
// a directory: a file there replaces the embedded one of the same name.
// LoadReplies parses everything once and renders each template against
// sample data, so that a bad override stops the daemon at start-up with the
// file's name rather than at the first reply.
//
// Outcomes about a known compte render PersonalData (first names and dates
// of birth, never a NIR, an address or an ETM motif); the others render
// GenericData, which has no field able to hold personal data.
package reply

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"sync"
	texttemplate "text/template"

	"github.com/cpam/attestd/rules"
)

// Body is a reply's text, in both alternatives. Lines end with "\n"; the
// mailer converts them for the wire.
type Body struct {
	Text string
	HTML string
}

// Replies holds the parsed reply templates. It is safe for concurrent use,
// Reload included.
type Replies struct {
	mu   sync.RWMutex // guards text and html against Reload
	text map[rules.Outcome]*texttemplate.Template
	html map[rules.Outcome]*htmltemplate.Template
}

// kind says which data a reply template renders.
type kind int

const (
	noReply  kind = iota
	personal      // PersonalData
	generic       // GenericData
)

// kindOf returns the data kind of o's reply, or noReply (SPEC section 5).
func kindOf(o rules.Outcome) kind {
	switch o {
	case rules.Issued, rules.AddressMissing, rules.RightsClosed, rules.BeneficiaryUnknown, rules.BeneficiaryAmbiguous:
		return personal
	case rules.SenderUnknown, rules.SenderAmbiguous, rules.NIRInvalid, rules.Failed, rules.LimitReached:
		return generic
	}
	return noReply
}

// Outcomes returns the outcomes that have a reply, in the order of SPEC
// section 5.
func (r *Replies) Outcomes() []rules.Outcome {
	var out []rules.Outcome
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, o := range rules.Outcomes {
		if _, ok := r.text[o]; ok {
			out = append(out, o)
		}
	}
	return out
}

// Personal renders the reply of an outcome that may carry the compte's data:
// issued, address_missing, rights_closed, beneficiary_unknown,
// beneficiary_ambiguous.
func (r *Replies) Personal(p PersonalData) (Body, error) {
	if k := kindOf(p.Outcome); k != personal {
		return Body{}, wrongKind(p.Outcome, k, "Personal")
	}
	switch {
	case p.Outcome == rules.Issued && len(p.Covered) == 0:
		return Body{}, fmt.Errorf("templates: issued reply without any covered beneficiary: the decision has no listed beneficiary")
	case p.Outcome == rules.Issued && p.FileName == "":
		return Body{}, fmt.Errorf("templates: issued reply without the attachment's file name: pass it to NewPersonalData")
	case (p.Outcome == rules.BeneficiaryUnknown || p.Outcome == rules.BeneficiaryAmbiguous) && len(p.Beneficiaries) == 0:
		return Body{}, fmt.Errorf("templates: %s reply needs the compte's beneficiaries: pass the compte to NewPersonalData", p.Outcome)
	}
	return r.render(p.Outcome, p)
}

// Generic renders a reply that carries no personal data at all:
// sender_unknown, sender_ambiguous, nir_invalid, failed, limit_reached.
func (r *Replies) Generic(g GenericData) (Body, error) {
	if k := kindOf(g.Outcome); k != generic {
		return Body{}, wrongKind(g.Outcome, k, "Generic")
	}
	return r.render(g.Outcome, g)
}

func wrongKind(o rules.Outcome, k kind, called string) error {
	switch k {
	case personal:
		return fmt.Errorf("templates: %s called for outcome %q, whose reply is personal: use Personal", called, o)
	case generic:
		return fmt.Errorf("templates: %s called for outcome %q, whose reply is generic: use Generic", called, o)
	}
	return fmt.Errorf("templates: outcome %q gets no reply (SPEC section 5)", o)
}

func (r *Replies) render(o rules.Outcome, data any) (Body, error) {
	r.mu.RLock()
	tt, ht := r.text[o], r.html[o]
	r.mu.RUnlock()
	if tt == nil || ht == nil {
		return Body{}, fmt.Errorf("templates: no reply template for outcome %q", o)
	}
	return execute(o, tt, ht, data)
}

// execute runs both templates of outcome o on data.
func execute(o rules.Outcome, tt *texttemplate.Template, ht *htmltemplate.Template, data any) (Body, error) {
	var tb, hb bytes.Buffer
	if err := tt.ExecuteTemplate(&tb, textFile(o), data); err != nil {
		return Body{}, fmt.Errorf("templates: render %s: %w", textFile(o), err)
	}
	if err := ht.ExecuteTemplate(&hb, htmlFile(o), data); err != nil {
		return Body{}, fmt.Errorf("templates: render %s: %w", htmlFile(o), err)
	}
	return Body{Text: tidyText(tb.String()), HTML: strings.TrimSpace(hb.String()) + "\n"}, nil
}

// tidyText drops trailing spaces, collapses runs of blank lines that
// template actions leave behind, and ends the text with one newline.
func tidyText(s string) string {
	var b strings.Builder
	blank := 0
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		line = strings.TrimRight(line, " \t\r")
		if line == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}
